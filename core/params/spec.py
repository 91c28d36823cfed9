"""The one-line architecture spec a person types, and its TOML form.

Grammar
-------
    spec    := part (";" part)*
    part    := [NAME ":"] input ("|" segment)*
    input   := ["input"] HxWxC        an image, channels last: 28x28x3
             | ["input"] LxD          a sequence of L tokens of D features: 196x384
             | ["input"] C            a vector of C features (or C token ids): 100
    segment := layer [repeat] | "(" layer ("|" layer)* ")" repeat
    repeat  := xN                     the layer or group N times: `resblock 64 x2`
    layer   := KIND arg* (option value | flag)*

Words are case-insensitive; `stride=2` is the same as `stride 2`, commas are spaces.
Sizes are `5` or `5x5` (one size per spatial dimension, a single one is repeated).
Channels are `OUT` or `IN->OUT`; the IN form is checked against what arrives.
Every layer takes the flag `frozen` (its parameters count as frozen, not trainable).
A spec with several parts (`;`) counts models that share no layers, such as the
pieces of a captioner; each part starts from its own input.

Layers (aliases in `layers.KINDS`):
    conv OUT KxK [stride S] [padding P|same|valid] [dilation D] [groups G] [nobias]
        2-d on an image, 1-d over L on a sequence (conv1d / conv2d to insist)
    convt OUT KxK [stride S] [padding P] [output_padding P] [dilation D] [groups G]
    maxpool K [stride S] [padding P] [dilation D] [ceil]   (stride defaults to K)
    avgpool K [stride S] [padding P] [ceil]
    adaptiveavgpool [HxW] (gap), adaptivemaxpool [HxW], upsample F | upsample size HxW
    batchnorm [noaffine], layernorm [nobias] [noaffine], groupnorm G, dropout [P]
    relu gelu tanh sigmoid softmax logsoftmax silu elu selu leakyrelu mish identity, prelu
    flatten [N], tokens (HxWxC -> (H*W)xC), grid [HxW] ((H*W)xC -> HxWxC)
    linear OUT | linear IN->OUT [nobias]    (on a vector, or on each token of a sequence)
    embedding VOCAB DIM                     (L ids -> LxDIM)
    lstm|gru|rnn HIDDEN [layers N] [bidirectional] [nobias];  lstmcell|grucell|rnncell H
    attention [HEADS] [dim E] [sharedqk] [nobias] [noout]   multi-head self-attention
    transformer [HEADS] [ff F] [sharedqk] [nobias]    encoder block, ff defaults to 4*D
    additive A query H                      additive attention over LxF -> F
    classtokens K, posembed, masks K [noproj] [nonorm], tokenpool [mean|max|first|last]
    resblock OUT [stride S] [downsample], bottleneck PLANES [stride S] [expansion E]

TOML: `[models.NAME]` with `input = "28x28x3"` and `layers = ["conv 8 5x5", ...]`,
or one `spec = "28x28x3 | conv 8 5x5 | ..."`.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dltui.errors import UserError
from dltui.params.layers import ALIASES, KINDS
from dltui.params.layers_common import Kind, Layer, Shape, show

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLE = "28x28x3 | conv 8 5x5 | maxpool 2 | flatten | linear 10"


@dataclass
class Part:
    """One chain of layers from its own input."""

    input_shape: Shape
    layers: list[Layer]
    name: str = ""


@dataclass
class Architecture:
    """A parsed spec: one or more parts, each an input shape and its layers."""

    text: str
    parts: list[Part]
    name: str = ""
    source: str = ""  # where it came from, for messages: "models.toml [models.cnn]"
    layers: list[Layer] = field(init=False)

    def __post_init__(self) -> None:
        self.layers = [layer for part in self.parts for layer in part.layers]

    @property
    def input_shape(self) -> Shape:
        return self.parts[0].input_shape


_FLAG_ALIASES = {
    "freeze": "frozen", "no-bias": "nobias", "no_bias": "nobias", "bi": "bidirectional",
    "bidir": "bidirectional", "shared_qk": "sharedqk", "shared-qk": "sharedqk",
    "tied": "sharedqk", "ceil_mode": "ceil", "downsampled": "downsample",
}
_OPTION_ALIASES = {
    "pad": "padding", "dil": "dilation", "num_layers": "layers", "nhead": "heads",
    "num_heads": "heads", "dim_feedforward": "ff", "ffn": "ff", "mlp": "ff",
    "outpad": "output_padding", "kernel": "kernel", "scale": "factor",
}
_WORDS = {"out": "output size", "kernel": "kernel size", "hidden": "hidden size",
          "vocab": "vocabulary size", "dim": "size", "count": "count", "groups": "groups"}
_DIMS = re.compile(r"^\d+(x\d+)*$")
_REPEAT = re.compile(r"^[x*](\d+)$")
_NAME = re.compile(r"^\s*([a-z_][\w-]*)\s*:")


def _split(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == sep and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return pieces


def _tokens(text: str) -> list[str]:
    text = text.lower().replace("×", "x").replace(",", " ").replace("=", " ")
    return re.sub(r"\s*->\s*", "->", text).split()


def _value(kind: Kind, name: str, vtype: str, token: str, where: str) -> Any:
    def bad(expected: str, example: str) -> UserError:
        return UserError(f"`{token}` is not a valid {name} for {kind.name}: expected "
                         f"{expected}", fix=f"write e.g. `{example}`; usage: {kind.usage}",
                         where=where)

    if vtype == "channels":
        m = re.fullmatch(r"(\d+)->(\d+)", token)
        if m and int(m[1]) > 0 and int(m[2]) > 0:
            return int(m[1]), int(m[2])
        if token.isdigit() and int(token) > 0:
            return None, int(token)
        raise bad("a positive count or IN->OUT", f"{kind.name} 16 or {kind.name} 3->16")
    if vtype == "count":
        if token.isdigit() and int(token) > 0:
            return int(token)
        raise bad("a positive whole number", f"{name} 2")
    if vtype in ("dims", "pads", "pads0"):
        if vtype == "pads" and token in ("same", "valid"):
            return token
        if _DIMS.match(token):
            dims = tuple(int(t) for t in token.split("x"))
            if vtype != "dims" or all(dims):
                return dims[0] if len(dims) == 1 else dims
        extra = " or same/valid" if vtype == "pads" else ""
        raise bad(f"a size like 3 or 3x3{extra}", f"{name} 3x3")
    if vtype == "prob":
        try:
            p = float(token)
        except ValueError:
            p = -1.0
        if 0 <= p < 1:
            return p
        raise bad("a probability in [0, 1)", "dropout 0.3")
    if vtype.startswith("choice:"):
        choices = vtype.split(":", 1)[1].split(",")
        if token in choices:
            return token
        raise bad("one of " + ", ".join(choices), f"{kind.name} {choices[0]}")
    raise AssertionError(vtype)  # pragma: no cover


def _unknown_kind(word: str, where: str) -> UserError:
    close = difflib.get_close_matches(word, list(ALIASES), n=3, cutoff=0.6)
    names = ", ".join(sorted(KINDS))
    if close:
        names = " or ".join(f"`{name}`" for name in dict.fromkeys(ALIASES[c] for c in close))
        return UserError(f"unknown layer `{word}`", fix=f"did you mean {names}?", where=where)
    return UserError(f"unknown layer `{word}`", fix=f"layers are: {names}", where=where)


def parse_layer(text: str, *, label: str, where: str, repeat_of: str = "") -> Layer:
    """One layer's text as a `Layer`; `where` prefixes messages."""
    tokens = _tokens(text)
    if not tokens:
        raise UserError("an empty layer between two `|`", fix="remove the extra `|`",
                        where=where.replace("``", "(empty)"))
    word = tokens[0]
    if word not in ALIASES:
        if _DIMS.match(word):
            raise UserError(f"`{text.strip()}` looks like an input shape, but only the first "
                            "entry of a part is its input",
                            fix="start a new part with `;` for a second input", where=where)
        raise _unknown_kind(word, where)
    kind = KINDS[ALIASES[word]]
    values: dict[str, Any] = {}
    flags: set[str] = set()
    positional = list(kind.positional)
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        flag = _FLAG_ALIASES.get(tok, tok)
        option = _OPTION_ALIASES.get(tok, tok)
        if tok == "bias" and i + 1 < len(tokens) and tokens[i + 1] in ("false", "0", "no"):
            flag, i = "nobias", i + 1
        if flag == "frozen" or flag in kind.flags:
            flags.add(flag)
        elif option in kind.options or (option in dict(kind.positional) and i + 1 < len(tokens)
                                         and not tok[0].isdigit()):
            if i + 1 >= len(tokens):
                raise UserError(f"option `{tok}` of {kind.name} has no value",
                                fix=f"usage: {kind.usage}", where=where)
            vtype = kind.options.get(option) or dict(kind.positional)[option]
            values[option] = _value(kind, option, vtype, tokens[i + 1], where)
            positional = [p for p in positional if p[0] != option]
            i += 1
        elif positional and (tok[0].isdigit() or tok[0] == "." or
                             positional[0][1].startswith("choice")):
            name, vtype = positional.pop(0)
            values[name] = _value(kind, name, vtype, tok, where)
        else:
            known = sorted({*kind.options, *kind.flags, "frozen"})
            close = difflib.get_close_matches(tok, known, n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`? " if close else ""
            raise UserError(f"{kind.name} does not take `{tok}`",
                            fix=f"{hint}usage: {kind.usage}", where=where)
        i += 1
    missing = [_WORDS.get(name, name) for name, _ in kind.positional[:kind.required]
               if name not in values]
    if missing:
        raise UserError(f"{kind.name} is missing its {' and '.join(missing)}",
                        fix=f"usage: {kind.usage}", where=where)
    return Layer(label, " ".join(tokens), kind.name, values, frozenset(flags), repeat_of)


def parse_input(text: str, *, where: str) -> Shape:
    tokens = _tokens(text)
    if tokens and tokens[0] == "input":
        tokens = tokens[1:]
    if len(tokens) == 1 and _DIMS.match(tokens[0]):
        dims = tuple(int(t) for t in tokens[0].split("x"))
        if len(dims) <= 3 and all(dims):
            return dims
    if tokens and tokens[0] in ALIASES:
        problem = f"the spec starts with the layer `{' '.join(tokens)}` instead of an input shape"
    else:
        problem = f"the input `{text.strip()}` is not a shape"
    raise UserError(problem, fix="start with HxWxC for an image (28x28x3), LxD for a sequence "
                    f"(196x384) or C for a vector (100), e.g. `{EXAMPLE}`", where=where)


def _segment(text: str, label: int, prefix: str) -> list[Layer]:
    """A segment's layers, with any `xN` repeat expanded."""
    body, count = text.strip(), 1
    tokens = body.split()
    m = _REPEAT.match(tokens[-1].lower().replace("×", "x")) if tokens else None
    if m and len(tokens) > 1:
        count, body = int(m[1]), body[: body.rstrip().rfind(tokens[-1])].strip()
    where = f"{prefix}layer {label} `{text.strip()}`"
    if count < 1:
        raise UserError("a repeat must be at least x1", fix="use x1 or more", where=where)
    if body.startswith("("):
        if not body.endswith(")"):
            raise UserError("a group must end with `)`", fix="write `(a | b) x2`", where=where)
        inner = [t for t in _split(body[1:-1], "|")]
        per_copy = [parse_layer(t, label="", where=where) for t in inner]
    else:
        per_copy = [parse_layer(body, label="", where=where)]
    if count == 1 and len(per_copy) == 1:
        layer = per_copy[0]
        return [Layer(str(label), layer.text, layer.kind, layer.values, layer.flags)]
    out, n = [], 0
    for _ in range(count):
        for layer in per_copy:
            n += 1
            out.append(Layer(f"{label}.{n}", layer.text, layer.kind, layer.values, layer.flags,
                             repeat_of=text.strip()))
    return out


def parse_spec(text: str, *, name: str = "", source: str = "") -> Architecture:
    """Parse a spec (grammar in the module docstring); raises `UserError` naming the layer.

    Only the syntax is checked here: shapes that do not fit surface from
    `count_parameters`, which knows the shape reaching each layer.
    """
    prefix = f"{source}: " if source else ""
    if not text or not text.strip():
        raise UserError("the spec is empty", fix=f"start with an input shape, e.g. `{EXAMPLE}`",
                        where=source)
    if text.count("(") != text.count(")"):
        raise UserError("unbalanced parentheses in the spec",
                        fix="a group is written `(layer | layer) x3`", where=source)
    parts, label = [], 0
    for part_text in _split(text, ";"):
        part_name = ""
        m = _NAME.match(part_text.lower())
        if m:
            part_name, part_text = m[1], part_text[m.end():]
        segments = _split(part_text, "|")
        shape = parse_input(segments[0], where=f"{prefix}input")
        layers: list[Layer] = []
        for seg in segments[1:]:
            label += 1
            layers.extend(_segment(seg, label, prefix))
        parts.append(Part(shape, layers, part_name))
    return Architecture(text.strip(), parts, name, source)


def load_models_toml(path: Path) -> dict[str, Architecture]:
    """Every `[models.NAME]` table of a TOML file, parsed, in file order."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"no such file: {path}", fix="give the path of a TOML file with "
                        "[models.NAME] tables") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"not valid TOML: {exc}", fix="check the quoting and brackets",
                        where=str(path)) from None
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise UserError("no [models.NAME] tables", where=str(path),
                        fix='add e.g. [models.cnn] with input = "28x28x3" and '
                            'layers = ["conv 8 5x5", "flatten", "linear 10"]')
    out = {}
    for model, table in models.items():
        where = f"{path} [models.{model}]"
        if not isinstance(table, dict):
            raise UserError("must be a table", where=where,
                            fix='write [models.NAME] with input and layers, or spec')
        if "spec" in table:
            if "layers" in table or "input" in table:
                raise UserError("has both `spec` and `input`/`layers`", where=where,
                                fix="keep one: a `spec` string, or `input` with `layers`")
            text = table["spec"]
        else:
            layers = table.get("layers", [])
            if "input" not in table:
                raise UserError("has no `input`", where=where,
                                fix='add e.g. input = "28x28x3" (or a single `spec` string)')
            if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
                raise UserError("`layers` must be a list of strings", where=where,
                                fix='write layers = ["conv 8 5x5", "relu", "flatten"]')
            text = " | ".join([str(table["input"]), *layers])
        if not isinstance(text, str):
            raise UserError("`spec` must be a string", where=where, fix=f'spec = "{EXAMPLE}"')
        out[model] = parse_spec(text, name=model, source=where)
    return out


__all__ = ["Architecture", "Part", "load_models_toml", "parse_layer", "parse_spec", "show"]
