"""Django's makemessages without msgmerge's fuzzy matching: a guessed translation of a
new string is wrong more often than not (it is excluded from the compiled catalogue and
hides that the string needs a translator), so new strings arrive empty instead."""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, "--no-fuzzy-matching"]
