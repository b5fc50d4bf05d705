from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "telemed.core"
    label = "core"
    verbose_name = "Core"
