"""The account page and deleting the account with everything it holds."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from scalpcheck.web.account import routes  # noqa: E402,F401  (registers the views on bp)
