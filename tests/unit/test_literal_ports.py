"""No well-known port is written as a literal in the Python of roadie/, app/ and infra/ (the
Pulumi program): a port is declared once, in the port table
(ansible/playbooks/group_vars/all/ports.yml), which the roles' defaults read
(`<role>_port: "{{ roadie_ports.<service>.<port> }}"`) and publish on each host in the service
registry; Python reads it from the registry (roadie.services.registry), or from the table itself
(roadie.inventory.ports) for what is decided before a host runs.

A literal counts when it is used as a port: an integer under a name, keyword, dict key or
argument named *port*, or a number after a colon in a string (`host:5432`, f"{host}:5432").
Docstrings and comments may show ports; they do not open or reach one.
"""

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from roadie.inventory import ports
from roadie.paths import project_root

ROOT = project_root()
SOURCES = ("roadie", "app", "infra")

# Below 1024 a number is too common (`:80`, `:443`) to mean one of our services.
LOWEST = 1024

# Literals kept on purpose, each listed by file and port so a new one fails. app/ is the product:
# it ships and runs without the toolkit or the Ansible tree (issue 17, item 5), so it cannot read
# the table; its settings are validated, and every deployment (role app, the k8s ConfigMap) sets
# the port explicitly.
ALLOWED: dict[str, set[int]] = {
    # The app's settings default for RabbitMQ's port (AMQPS's standard one: the broker serves
    # TLS only), for a settings file that names none.
    "app/common/settings.py": {5671},
    # The supplier simulator's --port default (a lab stand-in run by the supplier_sim role, which
    # always passes --port; its unit tests start it without one).
    "app/suppliersim/__main__.py": {8100},
}


def well_known_ports() -> dict[int, list[str]]:
    """Every port of the port table, with the `service.port` names declaring it."""
    found: dict[int, list[str]] = {}
    for service, named in ports.table().items():
        for name, number in named.items():
            if number >= LOWEST:
                found.setdefault(number, []).append(f"{service}.{name}")
    return found


WELL_KNOWN = well_known_ports()
HOST_PORT = re.compile(r"(?:^|[\w\].}]):(\d{4,5})(?!\d)")


def _named_port(name: str | None) -> bool:
    return name is not None and "port" in name.lower()


def _target_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _port_value(node: ast.AST) -> ast.expr | None:
    """The value an assignment or a keyword argument gives a name containing "port"."""
    if isinstance(node, ast.Assign) and any(_named_port(_target_name(t)) for t in node.targets):
        return node.value
    if isinstance(node, ast.AnnAssign) and _named_port(_target_name(node.target)):
        return node.value
    if isinstance(node, ast.keyword) and _named_port(node.arg):
        return node.value
    return None


def _port_contexts(tree: ast.AST) -> Iterator[ast.AST]:
    """The expressions whose value is a port by the name they are given."""
    for node in ast.walk(tree):
        if (value := _port_value(node)) is not None:
            yield value
        elif isinstance(node, ast.Dict):
            yield from (v for k, v in zip(node.keys, node.values, strict=True) if _is_port_key(k))
        elif isinstance(node, ast.arguments):
            yield from _port_defaults(node)
        elif isinstance(node, ast.Call) and any(_is_port_key(a) for a in node.args):
            # argparse's add_argument("--db-port", default=5000)
            yield from (k.value for k in node.keywords if k.arg == "default")


def _is_port_key(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and _named_port(node.value)


def _port_defaults(arguments: ast.arguments) -> Iterator[ast.expr]:
    positional = [*arguments.posonlyargs, *arguments.args]
    for arg, default in zip(positional[len(positional) - len(arguments.defaults) :], arguments.defaults, strict=True):
        if _named_port(arg.arg):
            yield default
    for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if default is not None and _named_port(arg.arg):
            yield default


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def literal_ports(source: str) -> set[tuple[int, int]]:
    """(line, port) of every well-known port used as a literal in `source`."""
    tree = ast.parse(source)
    found = set()
    for context in _port_contexts(tree):
        for node in ast.walk(context):
            if isinstance(node, ast.Constant) and _number(node.value) in WELL_KNOWN:
                found.add((node.lineno, _number(node.value)))
    docstrings = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found |= {(node.lineno, int(m)) for m in HOST_PORT.findall(node.value) if int(m) in WELL_KNOWN}
    return found


def _python_files() -> list[Path]:
    return sorted(p for source in SOURCES for p in (ROOT / source).rglob("*.py"))


def test_the_roles_declare_the_well_known_ports():
    # The declaration the guard reads: a typo in its path would make every check pass.
    assert {5432, 6379, 26379, 2379, 2380, 8008, 5671, 15672, 9090, 9093, 8432, 5000} <= set(WELL_KNOWN)


def role_port_literals(root: Path = ROOT) -> dict[str, int]:
    """`role/variable` -> number for every port a role's defaults write as a number of its own."""
    found = {}
    for defaults in sorted(root.glob("ansible/roles/*/defaults/main.yml")):
        for key, value in (yaml.safe_load(defaults.read_text()) or {}).items():
            if key.endswith("_port") and isinstance(value, int) and value >= LOWEST:
                found[f"{defaults.parent.parent.name}/{key}"] = value
    return found


def test_role_defaults_read_their_ports_from_the_table():
    # 26379 was written in five roles (redis, sentinel, redis_exporter, app, app_search): a
    # consumer reads the producer's entry of the table instead of a number of its own.
    assert role_port_literals() == {}
    references = {}
    for defaults in sorted(ROOT.glob("ansible/roles/*/defaults/main.yml")):
        for key, value in (yaml.safe_load(defaults.read_text()) or {}).items():
            if key.endswith("_port"):
                references[key] = ports.referenced(value)
    unread = sorted(key for key, reference in references.items() if reference is None)
    assert unread == [], f"*_port defaults that do not read roadie_ports: {unread}"
    # Each reference names a port the table has (ports.port raises naming the missing one).
    assert all(ports.port(*reference) for reference in references.values() if reference)


def test_the_role_guard_finds_a_port_number_in_a_roles_defaults(tmp_path):
    """Known-bad input: a role whose defaults write 26379 again."""
    defaults = tmp_path / "ansible" / "roles" / "consumer" / "defaults"
    defaults.mkdir(parents=True)
    (defaults / "main.yml").write_text("consumer_sentinel_port: 26379\nconsumer_user: app\n")
    assert role_port_literals(tmp_path) == {"consumer/consumer_sentinel_port": 26379}


RUNBOOK_PORT = re.compile(r"(?::|-p\s+)(\d{4,5})\b")


def runbook_ports(text: str) -> list[int]:
    """Well-known ports written in the shell blocks of a runbook's Markdown."""
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    return sorted({int(n) for block in blocks for n in RUNBOOK_PORT.findall(block) if int(n) in WELL_KNOWN})


def test_the_runbook_guard_finds_a_port():
    """Known-bad input: the commands the runbooks held before PATRONI_URLS and SENTINEL_PORT."""
    text = 'Prose :8008 is fine.\n```sh\ncurl "http://$m:8008/cluster"\nredis-cli -p 26379 PING\n```\n'
    assert runbook_ports(text) == [8008, 26379]


def test_runbooks_name_no_port():
    # Runbook commands reach services through the environment's URLs and ports (PATRONI_URLS,
    # SENTINEL_PORT...), never `host:8008` or `-p 26379`.
    found = {book.name: runbook_ports(book.read_text()) for book in sorted((ROOT / "runbooks").glob("*.md"))}
    assert {name: numbers for name, numbers in found.items() if numbers} == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("PORT = 5432", {(1, 5432)}),
        ("db_port: int = 6379", {(1, 6379)}),
        ("db_port: int", set()),
        ("connect(host, port=26379)", {(1, 26379)}),
        ('env = {"PGPORT": "5000"}', {(1, 5000)}),
        ("def f(address, port=8008): ...", {(1, 8008)}),
        ("def f(*, etcd_port: int = 2379): ...", {(1, 2379)}),
        ('p.add_argument("--db-port", type=int, default=5000)', {(1, 5000)}),
        ('url = f"http://{host}:9090"', {(1, 9090)}),
        ('url = "redis://10.0.0.1:6379/0"', {(1, 6379)}),
        ("port = entry['ports']['http'] if entry else 5000", {(1, 5000)}),
        ('"""Reach it on host:5432."""', set()),
        ("SEATS_PER_EVENT = 5000", set()),
        ("range(0, n, 5000)", set()),
        ('port = ports["postgresql"]', set()),
    ],
)
def test_the_guard_finds_a_port_wherever_python_writes_one(source, expected):
    assert literal_ports(source) == expected


def test_no_literal_well_known_port_outside_the_declaration():
    found: dict[str, set[int]] = {}
    for path in _python_files():
        ports = {port for _, port in literal_ports(path.read_text())}
        if ports:
            found[path.relative_to(ROOT).as_posix()] = ports
    new = {f: sorted(p - ALLOWED.get(f, set())) for f, p in found.items() if p - ALLOWED.get(f, set())}
    assert not new, f"literal ports (read them from the role's declaration instead): {new}"
    paid = {f: sorted(p - found.get(f, set())) for f, p in ALLOWED.items() if p - found.get(f, set())}
    assert not paid, f"debt paid: remove from ALLOWED: {paid}"
