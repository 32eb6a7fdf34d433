"""l4h_args.py — the rule every llm4hep verb follows (src/cli/opts.c), for the
verbs written in Python (plots.py, compare_plots.py): an option that takes one
value, or none, may not be given twice; argparse would silently keep the last.
Use action=Once for a value option and action=OnceTrue for a switch."""
import argparse


class Once(argparse.Action):
    """Store one value; a second occurrence is a usage error naming the option."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = namespace.__dict__.setdefault("_l4h_seen", set())
        if self.dest in seen:
            parser.error("%s given twice: it takes one value; give it once" % option_string)
        seen.add(self.dest)
        setattr(namespace, self.dest, values)


class OnceTrue(Once):
    """A switch (store_true) that may be given once."""

    def __init__(self, option_strings, dest, default=False, required=False, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, required=required,
                         help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        seen = namespace.__dict__.setdefault("_l4h_seen", set())
        if self.dest in seen:
            parser.error("%s given twice: it takes no value and counts once" % option_string)
        seen.add(self.dest)
        setattr(namespace, self.dest, True)
