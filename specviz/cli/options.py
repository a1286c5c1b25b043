"""What every command shares: the simulation options, the parser, the exit codes, output helpers.

Flags are parsed as text and handed to the engine's `config_from_text`, so the
rules and the error words are the engine's. numpy-free: the parser is built on
every start, the app's too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import textwrap
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

from specviz.engine import catalog
from specviz.engine.analysis.cost import preset_names
from specviz.engine.run.config import (
    MAX_BATCH_SIZE,
    MAX_CONTEXT_LENGTH,
    MAX_DRAFT_LENGTH,
    MAX_TARGET_LENGTH,
    MAX_TREE_NODES,
    MAX_TREE_WIDTH,
    PARTS,
    TREE_SAMPLINGS,
    ConfigError,
    SimConfig,
    check_model_reads,
    config_from_text,
    field_part,
    parse_int,
)
from specviz.engine.safe_text import safe_line, shorten

if TYPE_CHECKING:
    from rich.console import Console

EXIT_USAGE = 2  # bad input: a value, a flag, a file
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
UNRECOGNIZED_SHOWN = 3  # unrecognized arguments named in the error; the rest are counted

# (flags, SimConfig field, help). Defaults and ranges come from SimConfig and
# its validation, so the help text cannot drift from the rules.
SIMULATION_OPTIONS: list[tuple[tuple[str, ...], str, str]] = [
    (("-k", "--draft-length"), "draft_length", f"tokens the draft model proposes per round, 1 to {MAX_DRAFT_LENGTH}"),
    (
        ("-a", "--acceptance-rate"),
        "acceptance_rate",
        "alpha for the synthetic pair: sum_x min(p, q) in every context, 0 to 1",
    ),
    (("-n", "--target-length"), "target_length", f"tokens to generate, 1 to {MAX_TARGET_LENGTH:,}"),
    (("--draft-cost",), "draft_cost", "cost of a draft pass / cost of a target pass (c), >= 0"),
    (("--seed",), "seed", "random seed, an integer from 0 to 2**63 - 1"),
    (("--model",), "model", "model pair"),
    (("--method",), "method", "verification method"),
    (("--draft-policy",), "draft_policy", "how k is chosen each round"),
    (("--target-ms",), "target_pass_ms", "time of one target pass in ms, > 0"),
    (("--verify-overhead",), "verify_overhead", "extra target-pass cost per drafted token verified (v), >= 0"),
    (
        ("--k-by-batch-size",),
        "k_by_batch_size",
        "batch-table policy: k by batch size, a JSON list of [lo, hi, k] ranges such as "
        "'[[1,16,5],[17,32,4],[33,512,0]]' (b from lo to hi gets k; k = 0: no speculation)",
    ),
    (("--prompt",), "prompt", "text the generation starts from"),
    (("--target",), "target", "hf pair: the target model, a folder or model id from_pretrained accepts"),
    (
        ("--draft",),
        "draft",
        "hf pair: the draft model, sharing the target's tokenizer; or prompt-lookup (any pair): "
        "draft by matching the last ids earlier in the prompt and output, no draft model",
    ),
    (("--device",), "device", "hf pair: where the models run, auto, cpu, cuda, cuda:N or mps"),
    (("--dtype",), "dtype", "hf pair: weights' dtype, auto (float32 on a CPU), float32, float16, bfloat16, float64"),
    (("--corpus",), "corpus", "plain-text file to train the n-gram pair on"),
    (("--temperature",), "temperature", "sampling temperature for target and draft, 0.01 to 100"),
    (("--top-k",), "top_k", "keep only the k most likely words (0 = off)"),
    (("--top-p",), "top_p", "keep the smallest set of words with this much mass, (0, 1]"),
    (
        ("--confidence-threshold",),
        "confidence_threshold",
        "confidence policy: stop after a draft whose q(x) is below this, 0 to 1",
    ),
    (
        ("--draft-sampling",),
        "draft_sampling",
        "sample: x ~ q; argmax: the draft's most likely token, q a point mass, kept with probability p(x)",
    ),
    (
        ("--prompt-lookup-max",),
        "prompt_lookup_max",
        "prompt lookup: match the last n ids, n from this down to 1",
    ),
    (("--typical-epsilon",), "typical_epsilon", "typical acceptance: hard threshold epsilon, 0 to 1"),
    (("--typical-delta",), "typical_delta", "typical acceptance: entropy factor delta, >= 0"),
    (
        ("--cost-model",),
        "cost_model",
        "price passes by a forward-pass model, a preset or a .toml cost file, in place of --draft-cost, "
        f"--target-ms and --verify-overhead (presets: {', '.join(preset_names())})",
    ),
    (
        ("--timing",),
        "timing",
        "model: the cost model prices the run; measured: the hf pair's measured pass times too",
    ),
    (
        ("--batch-size",),
        "batch_size",
        f"sequences decoded together (b), 1 to {MAX_BATCH_SIZE:,}: a round verifies b times k+1 tokens in one pass",
    ),
    (
        ("--context-length",),
        "context_length",
        f"cached tokens per sequence each pass attends to (L), 0 to {MAX_CONTEXT_LENGTH:,}",
    ),
    (
        ("--tree-width",),
        "tree_width",
        f"token tree: children per node, 1 (the chain) to {MAX_TREE_WIDTH}; a full tree of depth k, "
        "or the most children a node gets in a dynamic tree",
    ),
    (
        ("--tree-sampling",),
        "tree_sampling",
        "token tree: a node's children drawn from q with replacement, without replacement, or the top-w of q, "
        "verified by the target-only rule",
    ),
    (
        ("--tree-shape",),
        "tree_shape",
        "token tree: a static tree, Medusa's JSON list of paths of candidate ranks, e.g. '[[0],[0,0],[1],[0,1]]'",
    ),
    (
        ("--tree-budget",),
        "tree_budget",
        f"token tree: a dynamic tree of at most N nodes, 0 (off) to {MAX_TREE_NODES:,}, grown as EAGLE-2 grows it "
        "by the product of q along each path, at most --tree-width children a node and k deep",
    ),
    (
        ("--tree-threshold",),
        "tree_threshold",
        "token tree: accept with min[1, p/T q_t], T from 0.01 to 1; below 1 LOSSY, as SGLang's relaxed thresholds",
    ),
]

# Knobs that only one verification method or one draft-length policy reads:
# knob -> (the field that chooses, the choice that reads it). Given with
# another choice they do nothing, and the command says so (unread_flag_notes).
CHOICE_KNOBS: dict[str, tuple[str, str]] = {
    "typical_epsilon": ("method", "typical"),
    "typical_delta": ("method", "typical"),
    "confidence_threshold": ("draft_policy", "confidence"),
}

# Flags the constant-ratio cost model reads, which a --cost-model replaces.
CONSTANT_RATIO_FLAGS = ("draft_cost", "target_pass_ms", "verify_overhead")

# Metavars by field; a field missing here (an option another part adds to the
# table) falls back to its name in capitals.
METAVARS: dict[str, str] = {
    "draft_length": "K",
    "acceptance_rate": "ALPHA",
    "target_length": "N",
    "draft_cost": "C",
    "seed": "SEED",
    "target_pass_ms": "MS",
    "verify_overhead": "V",
    "prompt": "TEXT",
    "corpus": "FILE",
    "temperature": "T",
    "top_k": "K",
    "top_p": "P",
    "confidence_threshold": "Q",
    "typical_epsilon": "EPS",
    "typical_delta": "DELTA",
    "cost_model": "NAME|FILE",
    "batch_size": "B",
    "context_length": "L",
    "k_by_batch_size": "TABLE",
    "tree_width": "W",
    "tree_shape": "PATHS",
    "tree_budget": "N",
    "tree_threshold": "T",
    "target": "MODEL",
    "draft": "MODEL",
    "device": "DEVICE",
    "dtype": "DTYPE",
    "timing": "HOW",
    "draft_sampling": "HOW",
    "prompt_lookup_max": "N",
}


class UsageError(ValueError):
    """Flags that do not go together. The message is one line."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' layout; a wider option column so help lines stay short."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, exit status 2.

    Abbreviated flags are off: `--draft` would otherwise mean --draft-length
    today and become ambiguous the day another --draft-... option is added.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # argparse would list every one of them, raw: name a few, each shortened.
            shown = " ".join(shorten(extra) for extra in extras[:UNRECOGNIZED_SHOWN])
            more = f" (and {len(extras) - UNRECOGNIZED_SHOWN:,} more)" if len(extras) > UNRECOGNIZED_SHOWN else ""
            self.error(f"unrecognized arguments: {shown}{more}")
        return parsed

    def error(self, message: str) -> NoReturn:
        # argparse quotes what was typed (a choice, an argument) as it was:
        # escape it and cut it short before it reaches the terminal.
        self.exit(EXIT_USAGE, f"{self.prog}: error: {safe_line(message)} (see '{self.prog} --help')\n")


#: What each command module's `add_parser(commands)` adds its parser to: the
#: object `add_subparsers()` returns (argparse keeps the class's name private).
Commands: TypeAlias = "argparse._SubParsersAction[OneLineParser]"


def default_text(field_name: str) -> str:
    """SimConfig's default for `field_name` as the help shows it."""
    default = {f.name: f.default for f in dataclasses.fields(SimConfig)}[field_name]
    if default is None:
        return "none"
    return repr(default) if isinstance(default, str) else str(default)


def choices(field_name: str) -> tuple[str, ...]:
    """The names a field takes, for a field that is a choice; () otherwise."""
    # From the numpy-free catalog: the parser is built on every start, the app's too.
    if field_name == "model":
        return catalog.model_names()
    if field_name == "method":
        return catalog.method_names()
    if field_name == "draft_policy":
        return catalog.policy_names()
    if field_name == "tree_sampling":
        return tuple(TREE_SAMPLINGS)
    return ()


def add_simulation_options(parser: argparse.ArgumentParser, parts: tuple[str, ...] | None = None) -> None:
    """Add the simulation flags of `parts` (default: every part of SimConfig's PARTS), one help group per part."""
    wanted = {part: PARTS[part] for part in (parts or PARTS)}
    groups = {part: parser.add_argument_group(f"{part} options", description) for part, description in wanted.items()}
    for flags, field_name, text in SIMULATION_OPTIONS:
        if field_part(field_name) not in groups:
            continue
        names = choices(field_name)
        extra = f"; one of {', '.join(names)}" if names else ""
        groups[field_part(field_name)].add_argument(
            *flags,
            dest=field_name,
            # SUPPRESS: a flag not given leaves no attribute, so flags given
            # before the command are not overwritten by the command's defaults.
            default=argparse.SUPPRESS,
            metavar="NAME" if names else METAVARS.get(field_name, field_name.upper()),
            help=f"{text}{extra} (default: {default_text(field_name)})",
        )


def redescribe_options(parser: argparse.ArgumentParser, texts: Mapping[str, tuple[str, str | None]]) -> None:
    """Replace the generic help of simulation flags a command reads its own way:
    {field name: (text, default or None for a flag the command does not use)}."""
    for action in parser._actions:
        if action.dest in texts:
            text, default = texts[action.dest]
            names = choices(action.dest)
            extra = f"; one of {', '.join(names)}" if names else ""
            action.help = text + extra + ("" if default is None else f" (default: {default})")


def given_simulation_flags(args: argparse.Namespace) -> list[str]:
    """The simulation flags given on the command line, by their long name."""
    return [flags[-1] for flags, field_name, _ in SIMULATION_OPTIONS if hasattr(args, field_name)]


#: What a command does not read, by SimConfig field: {field: why}, or a function of the config giving it.
NotRead: TypeAlias = "Mapping[str, str] | Callable[[SimConfig], Mapping[str, str]]"


def _long_flag(field_name: str) -> str:
    return next(flags[-1] for flags, name, _ in SIMULATION_OPTIONS if name == field_name)


def unread_flag_notes(
    args: argparse.Namespace, config: SimConfig, not_read: NotRead | None = None, every: Collection[str] = ()
) -> list[str]:
    """One note per simulation flag given that the command will not read: the
    fields in `not_read`, and the knobs of CHOICE_KNOBS whose method or policy
    is not the chosen one (unless the command runs `every` choice of that
    field: compare runs every method). A flag the model pair does not read is
    refused instead (config_from_args)."""
    unread = not_read(config) if callable(not_read) else (not_read or {})
    notes = []
    for _, field_name, _ in SIMULATION_OPTIONS:
        if not hasattr(args, field_name):
            continue
        flag = _long_flag(field_name)
        if field_name in unread:
            notes.append(f"{flag} is not read: {unread[field_name]}")
        elif field_name in CHOICE_KNOBS:
            chooser, reader = CHOICE_KNOBS[field_name]
            chosen = getattr(config, chooser)
            if chooser not in every and chosen != reader:
                notes.append(
                    f"{flag} is read only by {_long_flag(chooser)} {reader}; it does nothing with {chosen} "
                    f"(add {_long_flag(chooser)} {reader}, or leave {flag} out)"
                )
    return notes


def config_from_args(
    args: argparse.Namespace, not_read: NotRead | None = None, every: Collection[str] = ()
) -> SimConfig:
    """SimConfig from the flags given; raises ConfigError, also for a flag the chosen model pair does not
    read (even one given its default value), or UsageError for flags that do not go together. Prints a
    note on stderr for each flag given that the command will not read (unread_flag_notes)."""
    if hasattr(args, "cost_model"):
        clash = next((name for name in CONSTANT_RATIO_FLAGS if hasattr(args, name)), None)
        if clash is not None:
            flag = next(flags[-1] for flags, name, _ in SIMULATION_OPTIONS if name == clash)
            raise UsageError(f"{flag} cannot be used with --cost-model: the cost model prices every pass")
    given = {
        field_name: getattr(args, field_name)
        for _, field_name, _ in SIMULATION_OPTIONS
        if getattr(args, field_name, None) is not None
    }
    config = config_from_text(SimConfig(), given)
    check_model_reads(config, given)
    command = getattr(args, "command", None)
    for note in unread_flag_notes(args, config, not_read, every):
        # A note, not an error: the result is right, the flag just changes nothing.
        print(f"specviz{' ' + command if command else ''}: note: {safe_line(note)}", file=sys.stderr)
    return config


def count_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= `low`, read by the engine's one number rule (parse_int)."""

    def parse(text: str) -> int:
        try:
            value = parse_int("count", text)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(
                f"{error.shown} is not a whole number (allowed: {error.allowed}, >= {low})"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small (allowed: an integer >= {low})")
        return value

    return parse


def wrap(text: str) -> str:
    """A description wrapped for help (the formatter keeps text as written, for the examples)."""
    return textwrap.fill(text, width=78)


#: Floats printed by --json and --csv keep this many significant digits: the
#: engine's figures are exact to far fewer, and binary round-off (0.8 ** 2 is
#: 0.6400000000000001) never reaches the output. Traces are not rounded.
OUTPUT_SIGNIFICANT_DIGITS = 12


def output_number(value: float) -> float:
    """`value` rounded to OUTPUT_SIGNIFICANT_DIGITS significant digits (inf and nan as they are)."""
    return float(f"{value:.{OUTPUT_SIGNIFICANT_DIGITS}g}") if math.isfinite(value) else value


def rounded_output(data: Any) -> Any:
    """`data` with every float in it (in dicts, lists and tuples) rounded by output_number."""
    if isinstance(data, float):
        return output_number(data)
    if isinstance(data, dict):
        return {key: rounded_output(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [rounded_output(value) for value in data]
    return data


def print_json(data: Any) -> None:
    """A command's --json object on stdout, its floats rounded (OUTPUT_SIGNIFICANT_DIGITS)."""
    sys.stdout.write(json.dumps(rounded_output(data), indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def console(highlight: bool = True) -> Console:
    """A rich Console on stdout for a command's report (rich is imported only to print)."""
    from rich.console import Console

    return Console(highlight=highlight)
