"""The lab's pod run without a lab: the ConfigMap it plays carries the lab's CA where app.yml
looks for it (tests/lab/k8s plays it against the lab)."""

import kubernetes_validate
import pytest
import yaml

from roadie import tls
from roadie.errors import RoadieError
from roadie.k8s import podplay
from roadie.k8s.appconfig import APP_YML_KEY, CA_CERT_KEY, CA_CERT_PATH, AppEndpoints, render_app_yml, template
from roadie.lab.inventory import Lab

LAB_LIKE = AppEndpoints(
    postgres_host="127.1.0.52",
    postgres_primary_port=5000,
    postgres_replica_port=5001,
    sentinels=(("127.1.1.21", 26379),),
    rabbitmq_host="127.1.1.41",
    rabbitmq_port=5671,
)


def empty_lab(tmp_path) -> Lab:
    return Lab(root=tmp_path, profile="full", hosts=())


def test_the_lab_configmap_carries_the_labs_ca_where_app_yml_names_it(tmp_path):
    lab = empty_lab(tmp_path)
    tls.ensure_ca(lab.tls, "lab")
    files = {APP_YML_KEY: render_app_yml(template(), LAB_LIKE), **podplay.lab_ca_file(lab)}
    manifest = podplay.configmap(files)
    kubernetes_validate.validate(manifest, "1.33.0", strict=True)
    assert manifest["data"][CA_CERT_KEY] == lab.tls.ca_cert.read_text()
    app_yml = yaml.safe_load(manifest["data"][APP_YML_KEY])
    assert app_yml["postgres"]["tls"] == {"root_cert": CA_CERT_PATH}
    assert app_yml["rabbitmq"]["tls"] == {"enabled": True, "root_cert": CA_CERT_PATH}


def test_a_lab_without_its_ca_is_refused_naming_the_file(tmp_path):
    lab = empty_lab(tmp_path)
    with pytest.raises(RoadieError, match=rf"internal CA {lab.tls.ca_cert} is missing: `roadie lab up` creates it"):
        podplay.lab_ca_file(lab)
