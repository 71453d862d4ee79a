"""PUBLIC_URL (issue 8 item 3): production refuses to start without it, since activation links are built
from it and never from a request's Host header."""

import pytest

from app.settings import ConfigurationError, Settings

PRODUCTION = {"app_env": "production", "database_url": "postgresql://u:p@db/mc", "secret_key": "k" * 64}


def test_production_without_public_url_is_refused_with_a_clear_message():
    with pytest.raises(ConfigurationError, match=r"APP_ENV=production requires PUBLIC_URL.*activation links"):
        Settings(**PRODUCTION, public_url=None).check()


def test_production_with_public_url_is_accepted_and_links_use_it():
    settings = Settings(**PRODUCTION, public_url="https://mc.example.com/")
    settings.check()
    assert settings.public_base_url == "https://mc.example.com"


@pytest.mark.parametrize(
    "url", ["mc.example.com", "ftp://mc.example.com", "https://", "https://mc.example.com/?x=1"]
)
def test_a_public_url_that_is_not_an_http_url_is_refused(url):
    with pytest.raises(ConfigurationError, match="PUBLIC_URL must be an http:// or https:// URL"):
        Settings(public_url=url).check()


def test_development_without_public_url_uses_host_and_port():
    settings = Settings(app_env="development", public_url=None, host="127.0.0.1", port=8123)
    settings.check()
    assert settings.public_base_url == "http://127.0.0.1:8123"
