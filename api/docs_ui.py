"""The interactive docs at ``/schema`` (and ``/schema/swagger``), served whole by this process.

Litestar's render plugins load their scripts and styles from a CDN, so behind a firewall or
offline the page is blank. Here Swagger UI's own files (the ``swagger-ui-py`` package ships
them) are served under ``/schema/assets/``, and the page names only those. Redoc, Stoplight
Elements and RapiDoc are not offered: no package ships them without another web framework
(Django's), and a page that needs a CDN to show anything is worse than none. The document
itself stays at ``/schema/openapi.json`` (and ``/schema/openapi.yaml``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Tag
from litestar.router import Router
from litestar.static_files import create_static_files_router

__all__ = ["ASSET_FILES", "SCHEMA_PATH", "openapi_config", "swagger_ui_dir"]

SCHEMA_PATH = "/schema"
#: Swagger UI's files, under the schema path (so every docs URL starts with ``/schema``).
ASSETS_PATH = f"{SCHEMA_PATH}/assets"
#: What the page loads; each must be in the package's directory (checked at start).
ASSET_FILES = (
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-ui.css",
    "favicon-32x32.png",
)


def swagger_ui_dir() -> Path:
    """The directory of Swagger UI's dist files in the installed ``swagger-ui-py``.

    Found without importing the package (its ``__init__`` sets up handlers for other web
    frameworks, which agentq does not need)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    directory = Path(next(iter(spec.submodule_search_locations))) / "static"
    missing = [name for name in ASSET_FILES if not (directory / name).is_file()]
    if missing:
        raise RuntimeError(f"swagger-ui-py has no {', '.join(missing)} in {directory}")
    return directory


class OfflineSwagger(SwaggerRenderPlugin):
    """Litestar's Swagger UI page, its assets served from the schema router itself."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        super().__init__(
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
            path="/swagger",
        )

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)  # /schema/oauth2-redirect.html
        router.register(
            create_static_files_router(
                path=ASSETS_PATH.removeprefix(SCHEMA_PATH),
                directories=[self.directory],
                name="swagger-ui-assets",
                include_in_schema=False,
            )
        )


def openapi_config(tags: list[Tag]) -> OpenAPIConfig:
    """Swagger UI at ``/schema`` and ``/schema/swagger`` (the first plugin is also served at
    the root of the schema path), the document as JSON and YAML; any other ``/schema/...``
    is Litestar's 404."""
    return OpenAPIConfig(
        title="agentq",
        version="1",
        path=SCHEMA_PATH,
        tags=tags,
        description="A task queue for AI agents: issues, runs under fenced leases, review, "
        "costs, approvals and webhooks. The reference is docs/api.md in the repository.",
        # Each operation's summary and description are its handler's docstring (api.openapi).
        use_handler_docstrings=True,
        render_plugins=[OfflineSwagger(swagger_ui_dir()), JsonRenderPlugin(), YamlRenderPlugin()],
    )
