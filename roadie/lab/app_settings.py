"""The app's settings as a lab host's app has them, for the toolkit on the controller.

The benchmarks, the drain and the tests open their own connections to the app's databases with
the app's settings (role `app` rendered them on the host). Their file paths name the host's
files: the CA the app verifies PostgreSQL, Redis and RabbitMQ against is read here from the
host's disk, as the controller sees it, so the toolkit verifies against exactly the app's CA.
"""

from typing import TypeVar

from app.common.settings import PostgresSettings, RabbitSettings, RedisSettings, Settings, load_settings
from roadie.lab import hosts
from roadie.lab.inventory import LabHost
from roadie.services import registry

# The settings' sections that name a CA file.
TlsSection = TypeVar("TlsSection", PostgresSettings, RedisSettings, RabbitSettings)


def app_settings(host: LabHost) -> Settings:
    """The settings of the app on `host`, with its file paths as the controller reaches them."""
    settings = load_settings(hosts.on_disk(host, registry.service(host, "app").text("config")))
    sections = ("postgres", "redis", "rabbitmq")
    return settings.model_copy(update={name: _local_tls(host, getattr(settings, name)) for name in sections})


def _local_tls(host: LabHost, section: TlsSection) -> TlsSection:
    """`section` with its tls.root_cert (a file on the host) as the controller reaches it."""
    tls = section.tls
    if tls.root_cert is None:
        return section
    return section.model_copy(
        update={"tls": tls.model_copy(update={"root_cert": hosts.on_disk(host, str(tls.root_cert))})}
    )
