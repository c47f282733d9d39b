# Sourced by the shell entry points (inference.sh, eval/*.sh): `project_python ROOT` prints the Python to run.
# The project's packages live in ROOT/.venv (made by ./setup_env.sh); the system Python usually lacks them
# (tqdm, cv2, torch), so python3 is only a fallback, announced on stderr, e.g. for an activated conda env.
project_python() {
  if [ -x "$1/.venv/bin/python" ]; then
    printf '%s\n' "$1/.venv/bin/python"
  else
    echo "note: no virtual environment at $1/.venv (run ./setup_env.sh to create it); trying python3 from PATH" >&2
    printf '%s\n' python3
  fi
}
