from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StorageConfig(AppConfig):
    name = "telemed.storage"
    label = "storage"
    verbose_name = _("Storage")
