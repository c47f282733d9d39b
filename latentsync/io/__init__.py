"""Media in and out: decoding user files into arrays, encoding frames into files, writing files whole or not at all."""
