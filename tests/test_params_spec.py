"""The spec grammar, the TOML form, and the messages for specs that do not fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from dltui.errors import UserError
from dltui.params import count_parameters, load_models_toml, parse_spec


def total(spec: str) -> int:
    return count_parameters(parse_spec(spec)).total


def error(spec: str) -> UserError:
    with pytest.raises(UserError) as info:
        count_parameters(parse_spec(spec))
    return info.value


# -- grammar ---------------------------------------------------------------------------


def test_inputs_are_image_sequence_or_vector() -> None:
    assert parse_spec("28x28x3 | relu").input_shape == (28, 28, 3)
    assert parse_spec("196x384 | relu").input_shape == (196, 384)
    assert parse_spec("input 100 | relu").input_shape == (100,)


def test_layer_values_and_flags() -> None:
    (layer,) = parse_spec("28x28x3 | Conv 3->8 5x5 stride=2, padding same nobias frozen").layers
    assert layer.kind == "conv"
    assert layer.values == {"out": (3, 8), "kernel": (5, 5), "stride": 2, "padding": "same"}
    assert layer.flags == {"nobias", "frozen"}
    assert layer.frozen and not layer.bias


def test_aliases_and_option_spellings_are_the_same_layer() -> None:
    a = parse_spec("10x8 | mha 2 bias=false | encoder nhead 2 dim_feedforward 16 | fc 4")
    b = parse_spec("10x8 | attention heads 2 nobias | transformer 2 ff 16 | linear 4")
    assert [(x.kind, x.values, x.flags) for x in a.layers] == \
           [(x.kind, x.values, x.flags) for x in b.layers]


def test_repeat_and_group_expand_with_labels() -> None:
    arch = parse_spec("32x32x3 | conv 8 3x3 x2 | (conv 8 3x3 padding 1 | relu) x3 | flatten")
    labels = [layer.label for layer in arch.layers]
    assert labels == ["1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "3"]
    assert arch.layers[3].text == "relu"
    assert arch.layers[3].repeat_of == "(conv 8 3x3 padding 1 | relu) x3"
    assert total("32x32x3 | conv 8 3x3 x2") == total("32x32x3 | conv 8 3x3 | conv 8 3x3")


def test_parts_count_separately_and_add_up() -> None:
    arch = parse_spec("enc: 10 | linear 5 ; dec: 5 | linear 10")
    assert [p.name for p in arch.parts] == ["enc", "dec"]
    assert [p.input_shape for p in arch.parts] == [(10,), (5,)]
    assert total("enc: 10 | linear 5 ; dec: 5 | linear 10") == 55 + 60


def test_conv_on_a_sequence_is_one_dimensional() -> None:
    report = count_parameters(parse_spec("30x8 | conv 16 5 stride 2"))
    row = report.layers[0]
    assert (row.name, row.output_shape, row.params) == ("conv1d", "13x16", 5 * 8 * 16 + 16)
    assert row.shape_formula == "floor((30 - 5)/2) + 1 = 13"


# -- messages: each names the layer, its text and the numbers that do not fit -------------


@pytest.mark.parametrize(("spec", "where", "problem", "fix"), [
    pytest.param("28x28x3 | conv 8 5x5 | maxpool 4 stride 4 | maxpool 4 stride 4 | conv 2 3x3",
                 "layer 4 `conv 2 3x3`", ["kernel 3 is larger than its input 1", "1x1x8"],
                 ["smaller kernel"], id="kernel larger than input"),
    pytest.param("10x10x3 | conv 8 3x3 dilation 5 padding 0", None,
                 ["kernel 3 (dilated to 11) is larger than its input 10"], [], id="dilated"),
    pytest.param("4x4x1 | conv 1 7x7 padding 1", None, ["plus padding 2*1 = 6"], [],
                 id="padding in the numbers"),
    pytest.param("28x28x3 | conv 8 5x5 | flatten 1000", "layer 2 `flatten 1000`",
                 ["flatten declares 1000 features", "24*24*8 = 4608"], ["flatten 4608"],
                 id="flatten that does not flatten as declared"),
    pytest.param("28x28x3 | covn 8 5x5", "layer 1 `covn 8 5x5`", ["unknown layer `covn`"],
                 ["did you mean `conv`"], id="unknown layer"),
    pytest.param("28x28x3 | zzzzzz", None, [], ["layers are:"], id="unknown layer, no match"),
    pytest.param("28x28x3 | conv 8 5x5 strid 2", None, ["does not take `strid`"],
                 ["did you mean `stride`"], id="unknown option"),
    pytest.param("28x28x3 | conv 8 5x5 | linear 10", "layer 2 `linear 10`",
                 ["ambiguous", "24x24x8"], ["add `flatten`", "4,608", "conv OUT 1x1"],
                 id="linear on an image is ambiguous"),
    pytest.param("28x28x3 | flatten | linear 100->10", None,
                 ["declares 100 input features but receives 2352"], ["linear 2352->10"],
                 id="declared input features"),
    pytest.param("9x9x3 | conv 3->8 3x3 | conv 4->8 3x3", None,
                 ["declares 4 input channels but receives 8"], [], id="declared channels"),
])
def test_messages_say_what_does_not_fit_and_the_fix(spec: str, where: str | None,
                                                    problem: list[str], fix: list[str]) -> None:
    err = error(spec)
    if where is not None:
        assert err.where == where
    for words in problem:
        assert words in err.problem
    for words in fix:
        assert words in err.fix


@pytest.mark.parametrize(("spec", "where", "words"), [
    ("", "", "the spec is empty"),
    ("conv 8 5x5 | relu", "input", "starts with the layer `conv 8 5x5`"),
    ("28x28x3x2 | relu", "input", "is not a shape"),
    ("28x28x3 | conv 8", "layer 1 `conv 8`", "missing its kernel size"),
    ("28x28x3 | relu |", "layer 2 (empty)", "empty layer"),
    ("28x28x3 | (conv 8 3x3 | relu x2", "", "unbalanced parentheses"),
    ("28x28x3 | dropout 1.5", "layer 1 `dropout 1.5`", "probability"),
    ("28x28x3 | relu | 10x10", "layer 2 `10x10`", "looks like an input shape"),
    ("28x28x3 | conv 8 3x3x3", "layer 1 `conv 8 3x3x3`", "has 3 sizes"),
    ("8x8x3 | (conv 4 3x3 | maxpool 2) x3", "layer 1.4 `maxpool 2` (in `(conv 4 3x3 | maxpool 2) "
     "x3`)", "window 2 is larger than its input 1"),
    ("196x384 | masks 21", "layer 1 `masks 21`", "no `classtokens`"),
    ("196x384 | attention 5", "layer 1 `attention 5`", "384 is not divisible by 5 heads"),
    ("28x28x3 | conv 8 3x3 stride 2 padding same", "layer 1 `conv 8 3x3 stride 2 padding same`",
     "needs stride 1"),
    ("28 | lstm 10", "layer 1 `lstm 10`", "needs a sequence"),
    ("10x28 | lstmcell 10", "layer 1 `lstmcell 10`", "needs a vector"),
    ("16x8 | grid 3x5", "layer 1 `grid 3x5`", "holds 15 tokens but the sequence has 16"),
    ("9x9x4 | conv 6 3x3 groups 4", "layer 1 `conv 6 3x3 groups 4`", "not divisible by groups"),
    ("28x28x3 | upsample x2", "layer 1.1 `upsample` (in `upsample x2`)", "scale factor"),
    ("28x28x3 | maxpool 2 padding 2", "layer 1 `maxpool 2 padding 2`", "more than half"),
    ("10x32 | additive 16", "layer 1 `additive 16`", "needs the size of its query"),
    ("10 | flatten | relu ; 3x3x1 | conv 1 5x5", "layer 3 `conv 1 5x5`", "larger than"),
])
def test_messages_name_the_layer(spec: str, where: str, words: str) -> None:
    err = error(spec)
    assert err.where == where
    assert words in err.problem
    assert err.fix
    assert str(err).startswith(f"{where}: " if where else err.problem)


# -- TOML -----------------------------------------------------------------------------


def test_models_toml_layers_or_spec(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text('''
[models.cnn]
input = "28x28x3"
layers = ["conv 8 5x5", "maxpool 4 stride 2", "flatten", "linear 10", "softmax"]

[models.mlp]
spec = "28x28x3 | flatten | linear 100 | linear 10"
''', encoding="utf-8")
    models = load_models_toml(path)
    assert list(models) == ["cnn", "mlp"]
    assert models["cnn"].name == "cnn"
    assert count_parameters(models["cnn"]).total == 10_298
    assert count_parameters(models["mlp"]).total == 236_310


@pytest.mark.parametrize(("text", "words"), [
    ("[models.a]\nlayers = ['relu']\n", "has no `input`"),
    ("[models.a]\ninput = '3'\nspec = '3 | relu'\n", "has both"),
    ("[models.a]\ninput = '3'\nlayers = 'relu'\n", "must be a list of strings"),
    ("[other]\nx = 1\n", "no [models.NAME] tables"),
    ("[models.a\n", "not valid TOML"),
])
def test_models_toml_mistakes(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "models.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_models_toml(path)
    assert words in info.value.problem
    assert str(path) in info.value.where


def test_models_toml_errors_name_the_model_and_layer(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text('[models.small]\ninput = "4x4x1"\nlayers = ["conv 2 5x5"]\n',
                    encoding="utf-8")
    err = error_of(load_models_toml(path)["small"])
    assert err.where == f"{path} [models.small]: layer 1 `conv 2 5x5`"
    with pytest.raises(UserError, match="no such file"):
        load_models_toml(tmp_path / "missing.toml")


def error_of(arch: object) -> UserError:
    with pytest.raises(UserError) as info:
        count_parameters(arch)  # type: ignore[arg-type]
    return info.value
