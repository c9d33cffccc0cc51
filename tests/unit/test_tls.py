"""The internal CA (roadie/tls.py): what each host's certificate names, and when it is re-issued."""

import datetime
import ssl
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from typer.testing import CliRunner

from roadie import tls
from roadie.cli.tls import app
from roadie.errors import RoadieError
from roadie.inventory import build_inventory, load_stack_output
from roadie.inventory.build import write_inventory
from roadie.inventory.groups import TLS_PASSTHROUGH
from roadie.lab.inventory import inventory_for
from roadie.lab.plan import load_plan
from tests.unit.observability.role_render import GROUPS, HOSTVARS, render_template, role_variables

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "infra" / "data"
NOW = datetime.datetime(2026, 12, 4, tzinfo=datetime.UTC)


def lab_inventory():
    return inventory_for(load_plan(), "full", Path("/nonexistent"))


def aws_inventory():
    return build_inventory(
        [load_stack_output(DATA / "prod-stack-output.json"), load_stack_output(DATA / "dr-stack-output.json")]
    )


def cert(files, host):
    return x509.load_pem_x509_certificate(files.host_cert(host).read_bytes())


def test_a_database_member_is_named_by_its_region_balancer_and_no_other():
    names = tls.host_names(lab_inventory())
    assert names["db-1"] == ["DNS:db-1", "IP:127.1.1.11", "DNS:127.1.1.11", "IP:127.1.0.52"]
    assert names["db-dr"] == ["DNS:db-dr", "IP:127.2.1.11", "DNS:127.2.1.11", "IP:127.2.0.52"]
    assert names["cache-1"] == ["DNS:cache-1", "IP:127.1.1.21", "DNS:127.1.1.21"]


def test_behind_an_nlb_the_endpoint_name_is_in_the_certificate():
    names = tls.host_names(aws_inventory())
    members = [host for host, entries in names.items() if "DNS:database-nlb.elb.amazonaws.com" in entries]
    assert members, names
    assert all(host.startswith("db") for host in members), members


def test_issue_makes_a_ca_and_host_certificates_that_verify(tmp_path):
    files = tls.TlsFiles(tmp_path / "tls")
    issued = tls.issue(files, lab_inventory(), now=NOW)
    # Every host's, and the operator's client certificate.
    assert set(issued) == {*tls.host_names(lab_inventory()), tls.OPERATOR}
    assert files.operator_key.stat().st_mode & 0o777 == 0o600
    operator = x509.load_pem_x509_certificate(files.operator_cert.read_bytes())
    assert operator.subject.rfc4514_string() == f"CN={tls.OPERATOR}"
    assert files.ca_key.stat().st_mode & 0o777 == 0o600
    assert files.host_key("db-1").stat().st_mode & 0o777 == 0o600
    member = cert(files, "db-1")
    member.verify_directly_issued_by(x509.load_pem_x509_certificate(files.ca_cert.read_bytes()))
    assert tls.certificate_names(member) == tls.host_names(lab_inventory())["db-1"]
    # The standard library's verifier accepts it against the CA, and only against it.
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    assert context.cert_store_stats()["x509_ca"] == 1


def test_a_second_issue_changes_nothing(tmp_path):
    files = tls.TlsFiles(tmp_path / "tls")
    tls.issue(files, lab_inventory(), now=NOW)
    before = files.host_cert("db-1").read_bytes()
    assert tls.issue(files, lab_inventory(), now=NOW) == []
    assert files.host_cert("db-1").read_bytes() == before


def test_a_changed_name_expiry_or_ca_reissues_and_keeps_the_key(tmp_path):
    files = tls.TlsFiles(tmp_path / "tls")
    inventory = lab_inventory()
    tls.issue(files, inventory, now=NOW)
    key = files.host_key("db-1").read_bytes()
    inventory["all"]["vars"]["roadie_pg_endpoint"] = "db.roadie.internal:5000"
    assert "db-1" in tls.issue(files, inventory, now=NOW)
    assert tls.certificate_names(cert(files, "db-1"))[-1] == "DNS:db.roadie.internal"
    assert files.host_key("db-1").read_bytes() == key
    later = NOW + datetime.timedelta(days=tls.HOST_DAYS) - tls.RENEW_BEFORE + datetime.timedelta(days=1)
    assert "cache-1" in tls.issue(files, inventory, now=later)
    # A certificate another CA signed is replaced.
    other = tls.TlsFiles(tmp_path / "other")
    tls.issue(other, inventory, now=NOW)
    files.host_cert("mon").write_bytes(other.host_cert("mon").read_bytes())
    assert tls.issue(files, inventory, now=later) == ["mon"]


def test_half_a_ca_or_a_readable_key_is_refused(tmp_path):
    files = tls.TlsFiles(tmp_path / "tls")
    tls.issue(files, lab_inventory(), now=NOW)
    files.ca_key.chmod(0o644)
    with pytest.raises(RoadieError, match="readable by others"):
        tls.issue(files, lab_inventory(), now=NOW)
    files.ca_key.unlink()
    with pytest.raises(RoadieError, match="half a CA"):
        tls.issue(files, lab_inventory(), now=NOW)


def test_passthrough_table_matches_the_haproxy_role_wiring():
    """TLS_PASSTHROUGH says which group each balancer group fronts; role haproxy_pg's
    haproxy_pg_backend_group (default, or its group_vars) must say the same."""
    defaults = yaml.safe_load((ROOT / "ansible/roles/haproxy_pg/defaults/main.yml").read_text())
    for backend, (balancers, _) in TLS_PASSTHROUGH.items():
        group_vars = ROOT / "ansible/playbooks/group_vars" / f"{balancers}.yml"
        wiring = yaml.safe_load(group_vars.read_text()) if group_vars.exists() else {}
        assert (wiring or {}).get("haproxy_pg_backend_group", defaults["haproxy_pg_backend_group"]) == backend


def test_cli_issues_from_an_inventory_file_and_refuses_a_bad_one(tmp_path):
    inventory = tmp_path / "hosts.yml"
    write_inventory(aws_inventory(), inventory)
    result = CliRunner().invoke(app, ["issue", "-i", str(inventory), "-d", str(tmp_path / "ca")])
    assert result.exit_code == 0, result.output
    assert "host certificate(s) issued" in result.output
    assert (tmp_path / "ca" / "ca.crt").exists()
    inventory.write_text("- not an inventory\n")
    result = CliRunner().invoke(app, ["issue", "-i", str(inventory), "-d", str(tmp_path / "ca")])
    assert result.exit_code != 0
    assert "not a YAML inventory" in str(result.exception)


def test_cli_ca_creates_the_ca_alone_keeps_it_and_issue_signs_with_it(tmp_path):
    # On AWS the CA comes first (the stack config needs it), the inventory after the first `up`.
    files = tls.TlsFiles(tmp_path / "ca")
    result = CliRunner().invoke(app, ["ca", "--dir", str(files.directory)])
    assert result.exit_code == 0, result.output
    assert f"{files.ca_cert}: created" in result.output
    assert f'pulumi config set roadie:internalCaCertificate -- "$(cat {files.ca_cert})"' in result.output
    assert not (files.directory / "hosts").exists()
    assert files.ca_key.stat().st_mode & 0o777 == 0o600
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.subject.rfc4514_string() == "CN=roadie internal CA (prod)"
    before = files.ca_cert.read_bytes()
    result = CliRunner().invoke(app, ["ca", "--dir", str(files.directory)])
    assert result.exit_code == 0, result.output
    assert f"{files.ca_cert}: kept" in result.output
    assert files.ca_cert.read_bytes() == before
    inventory = tmp_path / "hosts.yml"
    write_inventory(aws_inventory(), inventory)
    assert CliRunner().invoke(app, ["issue", "-i", str(inventory), "-d", str(files.directory)]).exit_code == 0
    assert files.ca_cert.read_bytes() == before
    host = next(iter(tls.host_names(aws_inventory())))
    cert(files, host).verify_directly_issued_by(ca)


def test_ensure_ca_refuses_a_ca_about_to_expire(tmp_path):
    files = tls.TlsFiles(tmp_path / "ca")
    tls.ensure_ca(files, "prod", now=NOW)
    late = NOW + datetime.timedelta(days=tls.CA_DAYS) - tls.RENEW_BEFORE + datetime.timedelta(days=1)
    with pytest.raises(RoadieError, match="expires on"):
        tls.ensure_ca(files, "prod", now=late)


def test_haproxy_checks_verify_patronis_https_and_its_name():
    """Every server line of role haproxy_pg checks the member's REST API over TLS, against the
    CA the role installs, and that the certificate names the member's address."""
    text = render_template(
        "haproxy_pg", "haproxy.cfg.j2", role_variables("haproxy_pg", {"haproxy_pg_stats_password": "x" * 24})
    )
    servers = [line.split() for line in text.splitlines() if line.strip().startswith("server ")]
    assert len(servers) == 2 * len(GROUPS["postgres"])
    for words in servers:
        address = HOSTVARS[words[1]]["roadie_address"]
        tail = " ".join(words[words.index("check-ssl") :])
        assert tail == f"check-ssl verify required ca-file /etc/haproxy/ca.crt verifyhost {address}"
