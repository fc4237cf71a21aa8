from __future__ import annotations

import textwrap
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from miniflare_py.config import (
    ConfigError,
    D1DatabaseConfig,
    QueueConsumerConfig,
    QueueProducerConfig,
    find_config,
    load_config,
)

SEED = """\
name = "ai-tasks"
main = "worker.py"
compatibility_date = "2024-09-23"
compatibility_flags = ["python_workers"]
[[queues.producers]]
binding = "AI_QUEUE"
queue = "ai-processing-queue"
[[queues.consumers]]
queue = "ai-processing-queue"
max_batch_size = 1
max_batch_timeout = 30
max_retries = 2
dead_letter_queue = "ai-processing-dlq"
[[queues.producers]]
binding = "AI_DLQ"
queue = "ai-processing-dlq"
[[d1_databases]]
binding = "DB"
database_name = "ai-tasks"
database_id = "00000000-0000-0000-0000-000000000000"
"""

HEAD = 'name = "w"\nmain = "worker.py"\n'


def write(folder: Path, text: str, name: str = "wrangler.toml") -> Path:
    """Write a config file (and an empty worker.py beside it); return its path."""
    (folder / "worker.py").touch()
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def consumer_toml(**values: Any) -> str:
    lines = "".join(f"{key} = {value}\n" for key, value in values.items())
    return (
        HEAD
        + '[[queues.producers]]\nbinding = "Q"\nqueue = "q"\n'
        + f'[[queues.consumers]]\nqueue = "q"\n{lines}'
    )


# --- loading -------------------------------------------------------------------------------------


def test_seed_config(tmp_path: Path) -> None:
    path = write(tmp_path, SEED)
    config = load_config(path)

    assert config.path == path.resolve()
    assert config.root == tmp_path.resolve()
    assert config.name == "ai-tasks"
    assert config.main == (tmp_path / "worker.py").resolve()
    assert config.compatibility_date == "2024-09-23"
    assert config.compatibility_flags == ("python_workers",)
    assert config.vars == {}
    assert config.secrets == {}
    assert config.queue_producers == (
        QueueProducerConfig(binding="AI_QUEUE", queue="ai-processing-queue"),
        QueueProducerConfig(binding="AI_DLQ", queue="ai-processing-dlq"),
    )
    assert config.queue_consumers == (
        QueueConsumerConfig(
            queue="ai-processing-queue",
            max_batch_size=1,
            max_batch_timeout=30,
            max_retries=2,
            dead_letter_queue="ai-processing-dlq",
            retry_delay=0,
            max_concurrency=None,
        ),
    )
    assert config.d1_databases == (
        D1DatabaseConfig(
            binding="DB",
            database_name="ai-tasks",
            database_id="00000000-0000-0000-0000-000000000000",
            preview_database_id=None,
            migrations_dir="migrations",
            migrations_table="d1_migrations",
        ),
    )
    assert config.crons == ()
    assert config.env_name is None
    assert config.warnings == ()


def test_containers_are_read_only(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, HEAD + '[vars]\nA = "1"\n'))
    assert isinstance(config.vars, MappingProxyType)
    assert isinstance(config.secrets, MappingProxyType)
    assert isinstance(config.compatibility_flags, tuple)
    with pytest.raises(TypeError):
        config.vars["A"] = "2"  # type: ignore[index]


def test_jsonc_with_comments_and_trailing_commas(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        // wrangler.jsonc
        {
          "name": "ai-tasks", /* inline */
          "main": "worker.py",
          "compatibility_flags": ["python_workers",],
          "vars": {"A": "x", "N": 3, "OBJ": {"k": [1, 2]},},
          "queues": {
            "producers": [{"binding": "Q", "queue": "q", "delivery_delay": 5},],
            "consumers": [{"queue": "q", "max_batch_timeout": 0.5, "max_concurrency": 4}],
          },
          "d1_databases": [{"binding": "DB", "database_id": "abc", "migrations_dir": "db/m"}],
          "triggers": {"crons": ["*/5 * * * *", "@daily"]},
        }
        """,
        name="wrangler.jsonc",
    )
    config = load_config(path)
    assert config.name == "ai-tasks"
    assert config.vars == {"A": "x", "N": 3, "OBJ": {"k": [1, 2]}}
    assert config.queue_producers == (QueueProducerConfig("Q", "q", delivery_delay=5),)
    assert config.queue_consumers == (
        QueueConsumerConfig("q", max_batch_timeout=0.5, max_concurrency=4),
    )
    assert config.d1_databases[0].migrations_dir == "db/m"
    assert config.d1_databases[0].persist_id == "abc"
    assert config.crons == ("*/5 * * * *", "@daily")
    assert config.warnings == ()


def test_plain_json(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"name": "j", "main": "worker.py", "vars": {"FLAG": true}}',
        name="wrangler.json",
    )
    config = load_config(path)
    assert config.name == "j"
    assert config.vars == {"FLAG": True}


def test_defaults_are_cloudflare_production(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, consumer_toml()))
    assert config.queue_producers[0].delivery_delay == 0
    consumer = config.queue_consumers[0]
    assert consumer.max_batch_size == 10
    assert consumer.max_batch_timeout == 5
    assert consumer.max_retries == 3
    assert consumer.retry_delay == 0
    assert consumer.max_concurrency is None
    assert consumer.dead_letter_queue is None


def test_vars_keep_toml_types(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, HEAD + '[vars]\nS = "s"\nI = 1\nF = 1.5\nB = false\nL = [1, "a"]\n')
    )
    assert config.vars == {"S": "s", "I": 1, "F": 1.5, "B": False, "L": [1, "a"]}


def test_unquoted_toml_date_is_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, HEAD + "compatibility_date = 2024-09-23\n"))
    assert config.compatibility_date == "2024-09-23"


def test_main_in_subfolder_resolves_from_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "entry.py").touch()
    (tmp_path / "wrangler.toml").write_text('main = "src/entry.py"\n')
    monkeypatch.chdir("/")
    config = load_config(tmp_path / "wrangler.toml")
    assert config.main == (tmp_path / "src" / "entry.py").resolve()
    assert config.name is None


# --- errors --------------------------------------------------------------------------------------


def test_missing_main(tmp_path: Path) -> None:
    path = tmp_path / "wrangler.toml"
    path.write_text('name = "w"\n')
    with pytest.raises(ConfigError, match=r'wrangler\.toml: key "main" is required'):
        load_config(path)


def test_main_file_does_not_exist(tmp_path: Path) -> None:
    path = tmp_path / "wrangler.toml"
    path.write_text('main = "nope.py"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: main = ")
    assert '"nope.py"' in message
    assert str(tmp_path.resolve() / "nope.py") in message


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "wrangler.toml")


RANGE_CASES = [
    ("max_batch_size", 0, "1-100"),
    ("max_batch_size", 500, "1-100"),
    ("max_batch_timeout", -1, "0-60"),
    ("max_batch_timeout", 60.5, "0-60"),
    ("max_retries", -1, "0-100"),
    ("max_retries", 101, "0-100"),
    ("retry_delay", -1, "0-86400"),
    ("retry_delay", 86401, "0-86400"),
    ("max_concurrency", 0, "1-250"),
    ("max_concurrency", 251, "1-250"),
]


@pytest.mark.parametrize(("key", "value", "allowed"), RANGE_CASES)
def test_consumer_range_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: Any, allowed: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, consumer_toml(**{key: value}))
    with pytest.raises(ConfigError) as info:
        load_config("wrangler.toml")
    assert str(info.value) == (
        f"wrangler.toml: queues.consumers[0].{key} = {value} is out of range (allowed {allowed})"
    )
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("value", [-1, 86401])
def test_delivery_delay_range(tmp_path: Path, value: int) -> None:
    path = write(
        tmp_path,
        HEAD + f'[[queues.producers]]\nbinding = "Q"\nqueue = "q"\ndelivery_delay = {value}\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: queues.producers[0].delivery_delay = {value} is out of range (allowed 0-86400)"
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("max_retries", '"3"', 'max_retries must be an integer, got "3"'),
        ("max_retries", "true", "max_retries must be an integer, got true"),
        ("max_batch_size", "2.5", "max_batch_size must be an integer, got 2.5"),
        ("max_batch_timeout", '"5s"', 'max_batch_timeout must be a number, got "5s"'),
        ("max_concurrency", "[1]", "max_concurrency must be an integer, got [1]"),
        ("dead_letter_queue", "1", "dead_letter_queue must be a string, got 1"),
    ],
)
def test_type_errors(tmp_path: Path, key: str, value: str, expected: str) -> None:
    path = write(tmp_path, consumer_toml(**{key: value}))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: queues.consumers[0].{expected}"


def test_integral_float_accepted_for_integer(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"main": "worker.py", "queues": {"consumers": [{"queue": "q", "max_retries": 2.0}]}}',
        name="wrangler.json",
    )
    assert load_config(path).queue_consumers[0].max_retries == 2


@pytest.mark.parametrize(
    ("section", "where", "key"),
    [
        ('[[queues.producers]]\nqueue = "q"\n', "queues.producers[0]", "binding"),
        ('[[queues.producers]]\nbinding = "Q"\n', "queues.producers[0]", "queue"),
        ("[[queues.consumers]]\nmax_retries = 1\n", "queues.consumers[0]", "queue"),
        ('[[d1_databases]]\ndatabase_name = "x"\n', "d1_databases[0]", "binding"),
    ],
)
def test_missing_required_keys(tmp_path: Path, section: str, where: str, key: str) -> None:
    path = write(tmp_path, HEAD + section)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f'{path}: {where} is missing required key "{key}"'


def test_wrong_shapes(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[queues.producers]\nbinding = "Q"\n')
    with pytest.raises(ConfigError, match=r"queues\.producers must be an array of tables"):
        load_config(path)
    path = write(tmp_path, HEAD + 'compatibility_flags = "python_workers"\n')
    with pytest.raises(ConfigError, match="compatibility_flags must be an array of strings"):
        load_config(path)
    path = write(tmp_path, HEAD + 'vars = "x"\n')
    with pytest.raises(ConfigError, match="vars must be a table"):
        load_config(path)
    path = write(tmp_path, HEAD + 'compatibility_date = "yesterday"\n')
    with pytest.raises(ConfigError, match='compatibility_date = "yesterday" must be a date'):
        load_config(path)
    path = write(tmp_path, "[1, 2]", name="wrangler.json")
    with pytest.raises(ConfigError, match="top level must be an object"):
        load_config(path)


def test_malformed_toml_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "w"\nmain = "worker.py"\nvars = {A = \n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: invalid TOML")
    assert "line 3" in str(info.value)


@pytest.mark.parametrize("name", ["wrangler.json", "wrangler.jsonc"])
def test_malformed_json_names_line(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, '{\n  "name": "w",\n  "main": ,\n}\n', name=name)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: invalid JSON at line 3")


def test_empty_json(tmp_path: Path) -> None:
    path = write(tmp_path, "", name="wrangler.json")
    with pytest.raises(ConfigError, match="invalid JSON at line 1"):
        load_config(path)


@pytest.mark.parametrize("cron", ["* * * *", "61 * * * *", "* * * * * *", "@reboot", "bogus"])
def test_bad_cron(tmp_path: Path, cron: str) -> None:
    path = write(tmp_path, HEAD + f'[triggers]\ncrons = ["0 * * * *", "{cron}"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f'triggers.crons[1] = "{cron}" is not a valid cron expression' in str(info.value)


@pytest.mark.parametrize(
    "cron",
    ["*/5 * * * *", "0 17 * * sun", "10 7 * * MON-FRI", "0 0 1 jan,jul *", "0 12 * * 5#2",
     "0 0 L * *", "@hourly", "@weekly", "0-30/10 1,2 * * 1-5"],
)  # fmt: skip
def test_good_cron(tmp_path: Path, cron: str) -> None:
    path = write(tmp_path, HEAD + f'[triggers]\ncrons = ["{cron}"]\n')
    assert load_config(path).crons == (cron,)


# --- unknown keys --------------------------------------------------------------------------------


def test_unknown_keys_warn_and_known_wrangler_keys_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(
        tmp_path,
        HEAD
        + """\
        account_id = "abc"
        workers_dev = true
        routes = [{ pattern = "example.com/*", zone_name = "example.com" }]
        typo_key = 1
        [observability]
        enabled = true
        [[kv_namespaces]]
        binding = "KV"
        id = "x"
        [build]
        command = "make"
        [[queues.producers]]
        binding = "Q"
        queue = "q"
        foo = 1
        [[queues.consumers]]
        queue = "q"
        max_batch_sise = 3
        [[d1_databases]]
        binding = "DB"
        bar = 2
        [triggers]
        crons = []
        cronz = []
        """,
    )
    config = load_config("wrangler.toml")
    assert config.warnings == (
        'wrangler.toml: unknown key "typo_key"',
        'wrangler.toml: unknown key "queues.producers[0].foo"',
        'wrangler.toml: unknown key "queues.consumers[0].max_batch_sise" '
        '(did you mean "max_batch_size"?)',
        'wrangler.toml: unknown key "d1_databases[0].bar"',
        'wrangler.toml: unknown key "triggers.cronz" (did you mean "crons"?)',
    )


def test_http_pull_consumer_is_skipped_with_warning(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[[queues.consumers]]\nqueue = "q"\ntype = "http_pull"\n')
    config = load_config(path)
    assert config.queue_consumers == ()
    assert any("http_pull" in warning for warning in config.warnings)


# --- cross checks --------------------------------------------------------------------------------


def test_two_consumers_for_one_queue(tmp_path: Path) -> None:
    path = write(tmp_path, consumer_toml() + '[[queues.consumers]]\nqueue = "q"\n')
    with pytest.raises(ConfigError, match='queue "q" has two consumers'):
        load_config(path)


def test_queue_is_its_own_dlq(tmp_path: Path) -> None:
    path = write(tmp_path, consumer_toml(dead_letter_queue='"q"'))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "queues.consumers[0].dead_letter_queue" in str(info.value)
    assert "own" in str(info.value)


def test_consumer_without_producer_warns(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[[queues.consumers]]\nqueue = "x"\n')
    config = load_config(path)
    assert config.queue_consumers == (QueueConsumerConfig("x"),)
    assert config.warnings == (
        f'{path}: queue "x" has a consumer but no producer binding in this worker '
        "(it may be fed by another worker)",
    )


@pytest.mark.parametrize(
    "extra",
    [
        '[vars]\nDB = "x"\n[[d1_databases]]\nbinding = "DB"\n',
        '[[queues.producers]]\nbinding = "DB"\nqueue = "q"\n[[d1_databases]]\nbinding = "DB"\n',
        '[[queues.producers]]\nbinding = "Q"\nqueue = "a"\n[[queues.producers]]\nbinding = "Q"\n'
        'queue = "b"\n',
        '[[d1_databases]]\nbinding = "DB"\n[[d1_databases]]\nbinding = "DB"\n',
    ],
)
def test_duplicate_binding_names(tmp_path: Path, extra: str) -> None:
    path = write(tmp_path, HEAD + extra)
    with pytest.raises(ConfigError, match=r'binding name "\w+" is used twice'):
        load_config(path)


def test_var_override_clashing_with_binding(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[[d1_databases]]\nbinding = "DB"\n')
    with pytest.raises(ConfigError, match='binding name "DB" is used twice'):
        load_config(path, vars={"DB": "x"})


# --- vars overrides ------------------------------------------------------------------------------


def test_vars_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[vars]\nA = "file"\nB = "file"\n')
    config = load_config(path, vars={"B": "cli", "C": 3})
    assert config.vars == {"A": "file", "B": "cli", "C": 3}


# --- environments --------------------------------------------------------------------------------

ENV_CONFIG = (
    SEED
    + """\
[vars]
LEVEL = "top"
[triggers]
crons = ["0 * * * *"]

[env.staging]
compatibility_flags = ["python_workers", "extra"]
[env.staging.vars]
LEVEL = "staging"

[env.named]
name = "custom"
[[env.named.queues.producers]]
binding = "Q"
queue = "named-q"
[[env.named.queues.consumers]]
queue = "named-q"
max_batch_size = 200
"""
)


def test_env_overrides_and_non_inheritance(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ENV_CONFIG), env="staging")
    assert config.env_name == "staging"
    assert config.name == "ai-tasks-staging"
    assert config.main == (tmp_path / "worker.py").resolve()
    assert config.compatibility_date == "2024-09-23"
    assert config.compatibility_flags == ("python_workers", "extra")
    assert config.vars == {"LEVEL": "staging"}
    # bindings are not inherited, as in wrangler
    assert config.queue_producers == ()
    assert config.queue_consumers == ()
    assert config.d1_databases == ()
    # triggers are inheritable in wrangler
    assert config.crons == ("0 * * * *",)


def test_env_without_vars_has_none(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[vars]\nA = "1"\n[env.prod]\nworkers_dev = false\n')
    config = load_config(path, env="prod")
    assert config.vars == {}
    assert config.name == "w-prod"


def test_env_with_own_name_and_key_paths(tmp_path: Path) -> None:
    path = write(tmp_path, ENV_CONFIG)
    with pytest.raises(ConfigError) as info:
        load_config(path, env="named")
    assert str(info.value) == (
        f"{path}: env.named.queues.consumers[0].max_batch_size = 200 is out of range "
        "(allowed 1-100)"
    )
    path = write(tmp_path, ENV_CONFIG.replace("max_batch_size = 200", "max_batch_size = 20"))
    config = load_config(path, env="named")
    assert config.name == "custom"
    assert config.queue_producers == (QueueProducerConfig("Q", "named-q"),)
    assert config.queue_consumers == (QueueConsumerConfig("named-q", max_batch_size=20),)


def test_env_unknown_key_warning_has_env_path(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "[env.dev]\nwhatever = 1\n")
    assert load_config(path, env="dev").warnings == (f'{path}: unknown key "env.dev.whatever"',)


def test_env_main_override(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[env.dev]\nmain = "other.py"\n')
    with pytest.raises(ConfigError, match=r'env\.dev\.main = "other\.py"'):
        load_config(path, env="dev")
    (tmp_path / "other.py").touch()
    assert load_config(path, env="dev").main == (tmp_path / "other.py").resolve()


def test_unknown_env(tmp_path: Path) -> None:
    path = write(tmp_path, ENV_CONFIG)
    with pytest.raises(ConfigError) as info:
        load_config(path, env="prod")
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert 'no environment named "prod"' in message
    assert '"staging"' in message


def test_top_level_is_validated_even_with_env(tmp_path: Path) -> None:
    path = write(tmp_path, consumer_toml(max_retries=1000) + "[env.dev]\n")
    with pytest.raises(ConfigError, match=r"queues\.consumers\[0\]\.max_retries = 1000"):
        load_config(path, env="dev")


# --- .dev.vars -----------------------------------------------------------------------------------

DEV_VARS = r"""
# a comment
API_KEY=abc123
export EXPORTED=yes
SPACED = value with spaces   # trailing comment
DOUBLE="line1\nline2 \"quoted\""
SINGLE='raw\nvalue # not a comment'
EMPTY=
MULTI="first
second"

URL=https://example.com/?a=1&b=2
"""


def test_dev_vars(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + '[vars]\nAPI_KEY = "from-vars"\n')
    (tmp_path / ".dev.vars").write_text(DEV_VARS)
    config = load_config(path)
    assert dict(config.secrets) == {
        "API_KEY": "abc123",
        "EXPORTED": "yes",
        "SPACED": "value with spaces",
        "DOUBLE": 'line1\nline2 "quoted"',
        "SINGLE": "raw\\nvalue # not a comment",
        "EMPTY": "",
        "MULTI": "first\nsecond",
        "URL": "https://example.com/?a=1&b=2",
    }
    # secrets and vars stay separate; the runtime decides precedence
    assert config.vars == {"API_KEY": "from-vars"}
    assert config.warnings == ()


def test_dev_vars_bad_line_warns(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD)
    (tmp_path / ".dev.vars").write_text("GOOD=1\nnot a pair\n")
    config = load_config(path)
    assert config.secrets == {"GOOD": "1"}
    assert config.warnings == (f"{tmp_path / '.dev.vars'}: line 2: ignored, expected KEY=value",)


def test_dev_vars_unterminated_quote(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD)
    (tmp_path / ".dev.vars").write_text('A=1\nB="open\n')
    with pytest.raises(ConfigError, match=r"\.dev\.vars: line 2: B has an unterminated"):
        load_config(path)


def test_dev_vars_for_env(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "[env.staging]\n[env.prod]\n")
    (tmp_path / ".dev.vars").write_text("A=base\nB=base\n")
    (tmp_path / ".dev.vars.staging").write_text("A=staging\n")
    # the env file replaces .dev.vars, it is not merged with it
    assert load_config(path, env="staging").secrets == {"A": "staging"}
    assert load_config(path, env="prod").secrets == {"A": "base", "B": "base"}
    assert load_config(path).secrets == {"A": "base", "B": "base"}


# --- find_config ---------------------------------------------------------------------------------


def test_find_config_order(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_config(tmp_path)
    assert str(info.value) == (
        f"No wrangler.toml, wrangler.jsonc or wrangler.json found in {tmp_path}"
    )
    (tmp_path / "wrangler.json").write_text("{}")
    assert find_config(tmp_path) == tmp_path / "wrangler.json"
    (tmp_path / "wrangler.jsonc").write_text("{}")
    assert find_config(tmp_path) == tmp_path / "wrangler.jsonc"
    (tmp_path / "wrangler.toml").write_text("")
    assert find_config(tmp_path) == tmp_path / "wrangler.toml"


def test_load_config_without_path_uses_cwd_and_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "{}", name="wrangler.json")
    write(
        tmp_path,
        '{"main": "worker.py", "queues": {"consumers": [{"queue": "q", "max_retries": -5}]}}',
        name="wrangler.jsonc",
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value).startswith("wrangler.jsonc: queues.consumers[0].max_retries = -5")


def test_a_consumer_of_another_consumers_dead_letter_queue_does_not_warn(tmp_path: Path) -> None:
    config = tmp_path / "wrangler.toml"
    (tmp_path / "w.py").write_text("")
    config.write_text(
        'main = "w.py"\n'
        '[[queues.producers]]\nbinding = "Q"\nqueue = "q"\n'
        '[[queues.consumers]]\nqueue = "q"\ndead_letter_queue = "dlq"\n'
        '[[queues.consumers]]\nqueue = "dlq"\n'
    )
    assert load_config(config).warnings == ()


def test_commands_that_never_run_the_worker_do_not_need_main(tmp_path: Path) -> None:
    config = tmp_path / "wrangler.toml"
    config.write_text('[[d1_databases]]\nbinding = "DB"\ndatabase_name = "db"\n')
    with pytest.raises(ConfigError, match='"main" is required'):
        load_config(config)
    loaded = load_config(config, require_main=False)
    assert loaded.d1_databases[0].binding == "DB"
