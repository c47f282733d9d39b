"""Media input: decoding user-supplied files into arrays the models consume."""
