"""The programs the Manager talks to, each through its own published client; one that is not
configured is None, and its section is not shown."""

from __future__ import annotations

from dataclasses import dataclass

from osuite.dataserver.client import DataServerClient, DataServerError
from osuite.license.client import LicenseClient, LicenseServerError
from osuite.manager.settings import ManagerSettings
from osuite.processing.client import ProcessingClient, ProcessingError
from osuite.scales.client import ScalesClient, ScaleServerError

BackendError = DataServerError | ProcessingError | ScaleServerError | LicenseServerError
"""What any of them raises when it refuses or does not answer: shown to the person, never a crash."""
BACKEND_ERRORS = (DataServerError, ProcessingError, ScaleServerError, LicenseServerError)


@dataclass
class Backends:
    dataserver: DataServerClient
    processing: ProcessingClient | None
    scales: ScalesClient | None
    license: LicenseClient | None

    @classmethod
    def of(cls, settings: ManagerSettings) -> Backends:
        timeout = settings.timeout_seconds
        return cls(
            dataserver=DataServerClient(settings.dataserver_url, settings.dataserver_key, timeout=timeout),
            processing=(
                ProcessingClient(settings.processing_url, settings.processing_key, timeout=timeout)
                if settings.processing_url
                else None
            ),
            scales=(
                ScalesClient(settings.scales_url, settings.scales_key, timeout=timeout)
                if settings.scales_url
                else None
            ),
            license=LicenseClient(settings.license_url, timeout=timeout) if settings.license_url else None,
        )

    def close(self) -> None:
        for client in (self.dataserver, self.processing, self.scales, self.license):
            if client is not None:
                client.close()
