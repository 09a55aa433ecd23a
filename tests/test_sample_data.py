"""Specification of the synthetic sample generator (ml/sample_data/).

The generated files must be indistinguishable in format from the shop's real
export, reproducible, independent of the chunk size, and carry the export's
defects at its rates. Tests marked ``real_data`` compare against the real
export in ../shared/data/raw through the shared ``real_raw_dir`` fixture
(a skip on a developer's machine without it, a failure in CI).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml import sample_data as sd
from ml.sample_data import writing

FILES = ("market_file.csv", "market_money.csv", "market_time.csv", "money.csv")


@pytest.fixture(scope="module")
def params() -> dict:
    return sd.load_params()


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory, params: dict) -> Path:
    """5000 customers: enough for every defect and a run of twins to appear."""
    out = tmp_path_factory.mktemp("sample")
    sd.write_sample(out, 5000, seed=11, params=params, chunk_size=1500)
    return out


@pytest.fixture(scope="module")
def large_sample(tmp_path_factory: pytest.TempPathFactory, params: dict) -> pd.DataFrame:
    """60 000 customers read back as one row each, for rates."""
    out = tmp_path_factory.mktemp("large")
    sd.write_sample(out, 60_000, seed=5, params=params)
    table, _ = sd.read_export(out)
    return table


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def _files(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FILES}


# --- Format, written out ------------------------------------------------------


def test_headers_are_the_exports_headers_byte_for_byte(sample_dir: Path) -> None:
    expected = {
        "market_file.csv": "id,Покупательская активность,Тип сервиса,Разрешить сообщать,"
        "Маркет_актив_6_мес,Маркет_актив_тек_мес,Длительность,Акционные_покупки,"
        "Популярная_категория,Средний_просмотр_категорий_за_визит,"
        "Неоплаченные_продукты_штук_квартал,Ошибка_сервиса,Страниц_за_визит\r\n",
        "market_money.csv": "id,Период,Выручка\r\n",
        "market_time.csv": "id,Период,минут\r\n",
        "money.csv": "id;Прибыль\r\n",
    }
    for name, header in expected.items():
        data = (sample_dir / name).read_bytes()
        assert data.startswith(header.encode("utf-8")), name


def test_files_are_utf8_without_bom_and_every_line_ends_with_crlf(sample_dir: Path) -> None:
    for name in FILES:
        data = (sample_dir / name).read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")
        data.decode("utf-8")
        assert data.endswith(b"\r\n")
        assert data.count(b"\n") == data.count(b"\r\n"), name


def test_values_are_written_in_the_exports_number_formats(sample_dir: Path) -> None:
    market_file = re.compile(
        r"\d+,(Прежний уровень|Снизилась),(премиум|стандарт|стандартт),(да|нет),"
        r"\d+\.\d,\d+,\d+,\d\.\d{1,2},[^,]+,\d+,\d+,\d+,\d+"
    )
    for line in _lines(sample_dir / "market_file.csv")[1:]:
        assert market_file.fullmatch(line.decode()), line
    for line in _lines(sample_dir / "market_money.csv")[1:]:
        assert re.fullmatch(r"\d+,[а-я_]+,\d+\.\d", line.decode()), line
    for line in _lines(sample_dir / "market_time.csv")[1:]:
        assert re.fullmatch(r"\d+,[а-я_]+,\d+", line.decode()), line
    for line in _lines(sample_dir / "money.csv")[1:]:
        assert re.fullmatch(r"\d+;\d+(,\d{1,2})?", line.decode()), line


@pytest.mark.parametrize(
    ("key", "scaled", "text"),
    [
        ("profit", 398, "3,98"),
        ("profit", 410, "4,1"),
        ("profit", 400, "4"),
        ("profit", 5, "0,05"),
        ("promo_share", 30, "0.3"),
        ("promo_share", 0, "0.0"),
        ("promo_share", 24, "0.24"),
        ("revenue_current", 44720, "4472.0"),
        ("revenue_current", 0, "0.0"),
        ("marketing_6m", 30, "3.0"),
        ("tenure", 121, "121"),
    ],
)
def test_numbers_are_formatted_like_the_export(key: str, scaled: int, text: str) -> None:
    assert sd.format_scaled(scaled, sd.COLUMNS[sd.COLUMN_INDEX[key]]) == text


def test_ids_are_consecutive_from_the_exports_first_id(sample_dir: Path, params: dict) -> None:
    ids = [int(line.split(b",")[0]) for line in _lines(sample_dir / "market_file.csv")[1:]]
    start = params["source"]["id_start"]
    assert ids == list(range(start, start + 5000))
    money = [int(line.split(b";")[0]) for line in _lines(sample_dir / "money.csv")[1:]]
    assert money == ids


def test_every_customer_has_each_period_once_in_consecutive_rows(sample_dir: Path) -> None:
    for name, periods in (
        ("market_money.csv", {"препредыдущий_месяц", "предыдущий_месяц", "текущий_месяц"}),
        ("market_time.csv", {"предыдцщий_месяц", "текущий_месяц"}),
    ):
        rows = [line.decode().split(",") for line in _lines(sample_dir / name)[1:]]
        width = len(periods)
        assert len(rows) == 5000 * width
        for i in range(0, len(rows), width):
            block = rows[i : i + width]
            assert len({r[0] for r in block}) == 1
            assert {r[1] for r in block} == periods


def test_period_rows_come_in_varying_order_like_the_export(sample_dir: Path) -> None:
    rows = [line.decode().split(",") for line in _lines(sample_dir / "market_money.csv")[1:]]
    orders = Counter(tuple(r[1] for r in rows[i : i + 3]) for i in range(0, len(rows), 3))
    assert len(orders) == 6


# --- Reproducibility ------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path: Path, params: dict) -> None:
    sd.write_sample(tmp_path / "a", 3000, seed=42, params=params)
    sd.write_sample(tmp_path / "b", 3000, seed=42, params=params)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_different_seeds_give_different_files(tmp_path: Path, params: dict) -> None:
    sd.write_sample(tmp_path / "a", 300, seed=1, params=params)
    sd.write_sample(tmp_path / "b", 300, seed=2, params=params)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert all(a[name] != b[name] for name in FILES)


def test_chunk_size_does_not_change_the_output(tmp_path: Path, params: dict) -> None:
    # 4000 customers reach past the twins' lag, so runs of twins straddle chunks.
    for chunk in (4000, 997, 250):
        sd.write_sample(tmp_path / str(chunk), 4000, seed=3, params=params, chunk_size=chunk)
    reference = _files(tmp_path / "4000")
    assert _files(tmp_path / "997") == reference
    assert _files(tmp_path / "250") == reference
    table, _ = sd.read_export(tmp_path / "4000")
    assert _twin_count(table) > 0


def test_a_longer_sample_starts_with_the_shorter_one(tmp_path: Path, params: dict) -> None:
    sd.write_sample(tmp_path / "short", 700, seed=9, params=params)
    sd.write_sample(tmp_path / "long", 1400, seed=9, params=params)
    for name in FILES:
        short = (tmp_path / "short" / name).read_bytes()
        assert (tmp_path / "long" / name).read_bytes().startswith(short)


def test_an_interrupted_run_leaves_no_partial_files(
    tmp_path: Path, params: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writing, "format_block", fail)
    with pytest.raises(RuntimeError):
        sd.write_sample(tmp_path, 10, seed=1, params=params)
    assert list(tmp_path.iterdir()) == []


# --- Defects at the fitted rates -------------------------------------------------


def _twin_count(table: pd.DataFrame) -> int:
    keys = [c.key for c in sd.COLUMNS if c.key != "profit"] + ["declined", "service_spelling"]
    return int(table.duplicated(keys).sum())


def _within(observed: float, expected: float, n: int, sigmas: float = 5.0) -> bool:
    sd_ = (expected * (1 - expected) / n) ** 0.5
    return abs(observed - expected) <= sigmas * sd_


def test_service_typo_appears_at_the_fitted_rate(large_sample: pd.DataFrame, params: dict) -> None:
    standard = large_sample[large_sample["service"] == "стандарт"]
    typo = (standard["service_spelling"] == "стандартт").to_numpy()
    stable = params["labels"]["spellings"]["stable"]["service"]["стандарт"]["стандартт"]
    declined = params["labels"]["spellings"]["declined"]["service"]["стандарт"]["стандартт"]
    is_declined = standard["declined"].to_numpy()
    assert _within(typo[~is_declined].mean(), stable, int((~is_declined).sum()))
    assert _within(typo[is_declined].mean(), declined, int(is_declined.sum()))


def test_inactive_customers_have_zero_revenue_in_the_two_earliest_months(
    large_sample: pd.DataFrame, params: dict
) -> None:
    revenue = large_sample[list(sd.REVENUE_KEYS)].to_numpy()
    zero = revenue == 0
    inactive = zero.any(axis=1)
    assert (zero[inactive] == [True, True, False]).all()
    assert _within(inactive.mean(), params["defects"]["inactive"]["rate"], len(revenue))


def test_implausible_revenue_is_rare_and_in_the_current_month(
    large_sample: pd.DataFrame, params: dict
) -> None:
    revenue = large_sample[list(sd.REVENUE_KEYS)].to_numpy()
    huge = revenue > 30_000
    assert not huge[:, :2].any()
    rate = params["defects"]["implausible_revenue"]["rate"]
    assert _within(huge[:, 2].mean(), rate, len(revenue))


def test_twins_repeat_an_earlier_record_under_a_new_id_with_their_own_profit(
    large_sample: pd.DataFrame, params: dict
) -> None:
    keys = [c.key for c in sd.COLUMNS if c.key != "profit"] + ["declined", "service_spelling"]
    groups = large_sample.groupby(keys)["id"]
    twins = large_sample[large_sample.duplicated(keys)]
    first = groups.transform("min")[twins.index]
    assert (twins["id"] - first == params["defects"]["duplicates"]["lag"]).all()
    profit_differs = (
        twins["profit"].to_numpy() != large_sample.set_index("id").loc[first, "profit"].to_numpy()
    )
    assert profit_differs.mean() > 0.9
    # Twins come in runs, so their count varies more than a binomial one: 40 % slack.
    rate = params["defects"]["duplicates"]["rate"]
    assert abs(len(twins) / len(large_sample) - rate) < 0.4 * rate


def test_class_prior_matches_the_fitted_one(large_sample: pd.DataFrame, params: dict) -> None:
    prior = params["class_prior_declined"]
    assert _within(large_sample["declined"].mean(), prior, len(large_sample))


# --- Fitting --------------------------------------------------------------------


@pytest.mark.slow
def test_fit_recovers_the_parameters_a_sample_was_generated_with(
    tmp_path: Path, params: dict
) -> None:
    sd.write_sample(tmp_path, 30_000, seed=8, params=params)
    refit = sd.fit_params(tmp_path)
    for key in ("target", "periods"):
        assert refit["labels"][key] == params["labels"][key]
    for key, levels in params["labels"]["levels"].items():
        assert sorted(refit["labels"]["levels"][key]) == sorted(levels)
    assert refit["defects"]["duplicates"]["lag"] == params["defects"]["duplicates"]["lag"]
    assert refit["defects"]["duplicates"]["run_length"] == pytest.approx(
        params["defects"]["duplicates"]["run_length"], abs=1
    )
    assert refit["class_prior_declined"] == pytest.approx(params["class_prior_declined"], abs=0.01)
    assert (
        refit["defects"]["inactive"]["zero_periods"]
        == params["defects"]["inactive"]["zero_periods"]
    )
    assert refit["marginal_kind"] == params["marginal_kind"]


def test_canonical_labels_fold_typos_into_the_nearest_known_label() -> None:
    counts = {"стандарт": 914, "премиум": 376, "стандартт": 10}
    mapping = sd.canonical_labels(counts, ("премиум", "стандарт"))
    assert mapping == {"стандарт": "стандарт", "премиум": "премиум", "стандартт": "стандарт"}


def test_canonical_labels_reject_an_unknown_label() -> None:
    with pytest.raises(ValueError, match="not close"):
        sd.canonical_labels({"золото": 3}, ("премиум", "стандарт"))


def test_canonical_labels_without_a_list_merge_rare_near_spellings() -> None:
    counts = {"Косметика и аксессуары": 200, "Косметика и аксесуары": 5, "Кухонная посуда": 9}
    assert sd.canonical_labels(counts) == {
        "Косметика и аксессуары": "Косметика и аксессуары",
        "Косметика и аксесуары": "Косметика и аксессуары",
        "Кухонная посуда": "Кухонная посуда",
    }


def test_parameter_file_holds_aggregates_only(params: dict) -> None:
    longest = max(sd.N_QUANTILES, sd.MAX_PMF_LEVELS, len(sd.COLUMNS))

    def walk(node: object) -> None:
        if isinstance(node, list):
            assert len(node) <= longest
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            assert "id" not in node
            for value in node.values():
                walk(value)

    walk(params)
    assert sd.DEFAULT_PARAMS.stat().st_size < 64_000


def test_parameter_file_is_written_in_its_canonical_layout(params: dict) -> None:
    assert sd.DEFAULT_PARAMS.read_text(encoding="utf-8") == sd.dumps_params(params)


# --- Command line ---------------------------------------------------------------


def test_cli_generates_without_a_subcommand_word(tmp_path: Path) -> None:
    args = ["--customers", "25", "--seed", "4", "--chunk-size", "10"]
    assert sd.main([*args, "--out", str(tmp_path / "plain")]) == 0
    assert sd.main(["generate", *args, "--out", str(tmp_path / "explicit")]) == 0
    assert _files(tmp_path / "plain") == _files(tmp_path / "explicit")
    assert len(_lines(tmp_path / "plain" / "market_file.csv")) == 26


def test_cli_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    for command, options in (
        ("generate", ("--customers", "--seed", "--out", "--params", "--chunk-size")),
        ("fit", ("--raw", "--out")),
    ):
        with pytest.raises(SystemExit) as exit_info:
            sd.main([command, "--help"])
        assert exit_info.value.code == 0
        text = capsys.readouterr().out
        for option in (*options, "--log-level"):
            assert option in text


# --- Against the real export -------------------------------------------------------


def _shape(value: str) -> str:
    """A value's type as the export writes it: text, or digits with a separator."""
    if re.fullmatch(r"\d+", value):
        return "int"
    match = re.fullmatch(r"\d+([.,])(\d+)", value)
    if match:
        return f"decimal{match.group(1)}{len(match.group(2))}"
    return "text"


def _columns(path: Path, sep: str) -> tuple[bytes, list[list[str]]]:
    lines = _lines(path)
    rows = [line.decode("utf-8").split(sep) for line in lines[1:]]
    return lines[0], [list(col) for col in zip(*rows, strict=True)]


@pytest.mark.real_data
@pytest.mark.parametrize("name", FILES)
def test_headers_separators_and_types_match_the_real_export(
    name: str, sample_dir: Path, real_raw_dir: Path
) -> None:
    sep = ";" if name == "money.csv" else ","
    real_header, real_cols = _columns(real_raw_dir / name, sep)
    gen_header, gen_cols = _columns(sample_dir / name, sep)
    assert gen_header == real_header
    assert len(gen_cols) == len(real_cols)
    for real, generated in zip(real_cols[1:], gen_cols[1:], strict=True):
        real_shapes, gen_shapes = {_shape(v) for v in real}, {_shape(v) for v in generated}
        assert gen_shapes <= real_shapes
        if real_shapes == {"text"}:
            assert set(generated) == set(real)  # same labels, typos included


@pytest.mark.real_data
def test_real_files_use_the_line_endings_and_encoding_we_write(real_raw_dir: Path) -> None:
    for name in FILES:
        data = (real_raw_dir / name).read_bytes()
        assert data.startswith(sd.header_line(name).encode("utf-8"))
        assert data.count(b"\n") == data.count(b"\r\n")


@pytest.mark.real_data
def test_committed_parameters_are_a_fit_of_the_real_export(
    params: dict, real_raw_dir: Path
) -> None:
    fresh = sd.fit_params(real_raw_dir)
    mixtures = {cls: fresh["classes"][cls].pop("mixture") for cls in sd.CLASSES}
    committed = json.loads(json.dumps(params))
    committed_mixtures = {cls: committed["classes"][cls].pop("mixture") for cls in sd.CLASSES}
    assert json.loads(json.dumps(fresh)) == committed
    for cls in sd.CLASSES:  # EM may move the last digit on another BLAS
        for key in ("weights", "means", "covariances"):
            np.testing.assert_allclose(mixtures[cls][key], committed_mixtures[cls][key], atol=2e-3)


@pytest.mark.real_data
@pytest.mark.slow
def test_logistic_regression_scores_alike_on_sample_and_real_data(
    tmp_path: Path, real_raw_dir: Path
) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = ["service", "messages", "category"]
    numeric = [c.key for c in sd.COLUMNS if not c.categorical and c.key != "profit"]

    def cv_auc(raw_dir: Path) -> float:
        table, _ = sd.read_export(raw_dir)
        table = table[(table[list(sd.REVENUE_KEYS)] > 0).all(axis=1)]
        keys = [*categorical, *numeric, "declined"]
        groups = table.groupby(keys)["id"].transform("min")
        model = make_pipeline(
            ColumnTransformer(
                [("c", OneHotEncoder(), categorical), ("n", StandardScaler(), numeric)]
            ),
            LogisticRegression(max_iter=2000),
        )
        cv = StratifiedGroupKFold(5, shuffle=True, random_state=0)
        x, y = table[categorical + numeric], table["declined"]
        return cross_val_score(model, x, y, groups=groups, cv=cv, scoring="roc_auc").mean()

    sd.write_sample(tmp_path, 1300, seed=0)
    # Real export: about 0.90; samples of its size: 0.90-0.93 depending on the seed.
    assert abs(cv_auc(tmp_path) - cv_auc(real_raw_dir)) < 0.04
