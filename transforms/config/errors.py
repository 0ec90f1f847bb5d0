"""Errors of what the user configures; each message names the file, the option or entry, the
value and what is allowed (the CLI prints it and exits with code 2)."""


class OptionsError(ValueError):
    """A bad options file or option value."""
