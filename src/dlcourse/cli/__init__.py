"""The `dlcourse` command line: one module per noun, loaded only when that noun is used."""
