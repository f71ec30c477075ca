"""Exceptions whose message is meant for the user: one line naming the problem and the fix."""


class DlcourseError(Exception):
    """Bad input or an unavailable resource; the CLI prints the message as one line."""


class DataUnavailableError(DlcourseError):
    """A data set or weight file could not be obtained from any of its sources."""


class ChecksumError(DlcourseError):
    """A file's checksum does not match the registry; the file is never used."""


class TrainingInterrupted(DlcourseError):
    """Training stopped by Ctrl-C after saving a checkpoint that ``resume`` continues from."""
