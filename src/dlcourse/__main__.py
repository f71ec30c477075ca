"""`python -m dlcourse` runs the command line."""

from dlcourse.cli.launch import entry

if __name__ == "__main__":
    entry()
