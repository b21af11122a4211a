"""gunicorn's settings, read from the working directory by every gunicorn started here
(the Procfile's, the end-to-end harness's): integration keys in URL paths and Bearer
credentials are left out of the access log (oncall/integrations/logs.py)."""

logger_class = "oncall.integrations.logs.AccessLogger"
