"""aftercare: a progressive web app for ketamine-assisted therapy clinics and their patients."""

import gc
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import access
from . import config
from . import db
from . import errors
from . import headers
from . import inputs
from . import localtime
from . import logs
from . import templating
from .extensions import csrf
from .extensions import login_manager
from .push import vapid
from .websessions import ServerSessionInterface


class Aftercare(Flask):
    """Flask, remembering which hooks and views are plain functions.

    Flask asks `inspect.iscoroutinefunction` of every before- and after-request hook, teardown and
    view it calls, on every request (fifteen times a page here). What a function is does not
    change, so the answer is kept; a coroutine function is still wrapped by Flask each time.
    """

    PLAIN_MAX = 1000  # hooks and views are registered at start-up; this only bounds a surprise

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plain: set = set()

    def ensure_sync(self, func):
        try:
            if func in self._plain:
                return func
        except TypeError:  # an unhashable callable: asked every time, as Flask does
            return super().ensure_sync(func)
        wrapped = super().ensure_sync(func)
        if wrapped is func and len(self._plain) < self.PLAIN_MAX:
            self._plain.add(func)
        return wrapped


def create_app(test_config=None):
    """Create and configure an instance of the aftercare application."""
    app = Aftercare(__name__, instance_relative_config=True)
    app.jinja_env.add_extension("jinja2.ext.do")
    config.load(app, test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        # The client's address and scheme, never its host: links come from AFTERCARE_BASE_URL (CFG-02).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)

    db.init_app(app)
    app.session_interface = ServerSessionInterface()
    inputs.init_app(app)  # before the blueprints: their <int:...> routes take the bounded converter
    access.init_app(app)  # before CSRF: an anonymous caller learns 401, not "bad token"
    register_extensions(app)
    register_blueprints(app)
    headers.init_app(app)
    errors.init_app(app)
    logs.init_app(app)
    localtime.init_app(app)
    register_commands(app)
    templating.init_app(app)
    problem = vapid.problem(app.config)
    if problem and not app.testing:
        app.logger.warning("%s", problem)
    if not app.testing:
        # What start-up loaded (modules, models, routes) lives as long as the process: Python's
        # collector need not walk it again. Its full passes had stalled a worker for some 40 ms
        # every thousand requests. (Not in tests, which make many apps in one process.)
        gc.collect()
        gc.freeze()
    return app


def register_extensions(app):
    csrf.init_app(app)
    login_manager.init_app(app)
    # Server-side session rows already bind a session to its device; flask-login's
    # IP/agent check would sign patients out whenever their phone changes network.
    login_manager.session_protection = None
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"


def register_blueprints(app):
    from .admin.views import bp as admin_bp
    from .api.views import bp as api_bp
    from .auth.views import bp as auth_bp
    from .circles.views import bp as circles_bp
    from .clinician.views import bp as clinician_bp
    from .guides.views import bp as guides_bp
    from .intake.views import bp as intake_bp
    from .journal.views import bp as journal_bp
    from .journey.views import bp as journey_bp
    from .mydata.views import bp as mydata_bp
    from .patient.views import bp as patient_bp
    from .playlists.views import bp as playlists_bp
    from .practices.views import bp as practices_bp
    from .push.views import bp as push_bp
    from .pwa.views import bp as pwa_bp
    from .reminders.views import bp as reminders_bp
    from .selfreports.views import bp as selfreports_bp

    app.register_blueprint(pwa_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(patient_bp)
    app.register_blueprint(selfreports_bp)
    app.register_blueprint(mydata_bp)
    app.register_blueprint(clinician_bp)
    app.register_blueprint(journey_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(playlists_bp)
    app.register_blueprint(practices_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(journal_bp)
    app.register_blueprint(push_bp)
    app.register_blueprint(reminders_bp)
    app.register_blueprint(intake_bp)
    app.register_blueprint(guides_bp)
    app.register_blueprint(circles_bp)


def register_commands(app):
    from .admin.commands import audit_cli
    from .admin.commands import users_cli
    from .demo import demo_command
    from .mydata.commands import retention_cli
    from .push.commands import vapid_cli
    from .reminders.commands import reminders_cli
    from .selfreports.commands import rollups_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(retention_cli)
    app.cli.add_command(vapid_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(rollups_cli)
