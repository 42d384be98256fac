"""The optional parts of the package (setup.py's extras) and the one-line error when one is missing."""
import importlib


class MissingExtra(ImportError):
    pass


def require_extra(extra: str, *modules: str) -> None:
    """Import ``modules`` (the extra's third-party packages) or say, in one line, which extra installs them."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module.split(".")[0]:
                raise  # a package that is installed but broken: its own error says more
            raise MissingExtra(
                f"{module} is not installed: this needs the {extra} extra, pip install 'flights-etl[{extra}]' (make install has it)"
            ) from None
