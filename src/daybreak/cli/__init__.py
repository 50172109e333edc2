"""The command-line face. It only wires core modules together."""
