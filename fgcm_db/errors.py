"""Exceptions that the command line turns into one-line messages and exit codes."""


class FgcmDbError(Exception):
    """Bad input or bad use: the message names the file, column, row or option at fault.

    The command line prints it on one line and exits with status 2.
    """

    exit_code = 2


class CalibrationError(FgcmDbError):
    """The inputs were valid but the calibration could not be made (exit status 3)."""

    exit_code = 3


class DatabaseBusyError(FgcmDbError):
    """Another process holds the database for writing (exit status 4)."""

    exit_code = 4
