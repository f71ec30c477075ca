"""`python -m dlcourse` runs the command line."""

from dlcourse.cli.main import main

if __name__ == "__main__":
    main()
