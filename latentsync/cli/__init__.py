"""The command-line programs: argument parsing and exit codes around the library (one ``run_command``)."""
