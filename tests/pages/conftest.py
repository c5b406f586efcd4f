from tests.pages.site import site

__all__ = ["site"]
