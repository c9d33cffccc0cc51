"""Role `app` renders every TLS server's settings (PostgreSQL, Redis, RabbitMQ) against the one
internal CA it installs, and the app loads them."""

import pytest
import yaml

from app.common.settings import settings_from
from tests.unit.observability.role_render import render_template, role_variables


def rendered():
    variables = role_variables(
        "app",
        {
            "inventory_hostname": "app-1",
            "app_node_name": "app-1",
            "app_address": "10.1.3.13",
            "app_postgres_host": "10.1.6.16",
            "app_rabbitmq_host": "10.1.4.14",
            **dict.fromkeys(
                ["app_postgres_password", "app_redis_password", "app_sentinel_password", "app_rabbitmq_password"],
                "unit-test-password",
            ),
            "app_operator_token": "o" * 32,
            "app_customer_issuer_key": "k" * 32,
        },
    )
    return variables, yaml.safe_load(render_template("app", "app.yml.j2", variables))


@pytest.mark.parametrize("section", ["redis", "rabbitmq"])
def test_the_role_renders_tls_against_the_ca_it_installs(section):
    variables, data = rendered()
    ca = f"{variables['app_config_dir']}/internal-ca.crt"
    assert data[section]["tls"] == {"enabled": True, "root_cert": ca}
    assert data[section]["tls"]["root_cert"] == data["postgres"]["tls"]["root_cert"]
    tls = getattr(settings_from(data, {}), section).tls
    assert (tls.enabled, str(tls.root_cert)) == (True, ca)


def test_the_app_dials_rabbitmq_on_the_registrys_amqps_port():
    variables, data = rendered()
    assert settings_from(data, {}).rabbitmq.port == variables["roadie_ports"]["rabbitmq"]["amqp"]
