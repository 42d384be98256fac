"""The repository and the code origins a ``workspace.yaml`` names, as Dagit and ``dagster`` load them."""
import importlib
import os

from dagster import RepositoryDefinition

from flights_etl.dagster_private import ExternalPipelineOrigin, ExternalRepositoryOrigin, location_origins_from_yaml_paths


def repository_from_workspace(workspace_yaml: str):
    """The RepositoryDefinition the workspace's (single) code location loads, imported here."""
    (location_origin,) = location_origins_from_yaml_paths([os.path.abspath(workspace_yaml)])
    target = location_origin.loadable_target_origin
    module = importlib.import_module(target.package_name or target.module_name)
    if target.attribute:
        return getattr(module, target.attribute)
    (repository,) = [value for value in vars(module).values() if isinstance(value, RepositoryDefinition)]
    return repository


def repository_origin(workspace_yaml: str, repository_name: str) -> ExternalRepositoryOrigin:
    """The origin Dagit and ``dagster pipeline backfill`` give the repository loaded by ``workspace_yaml``."""
    (location_origin,) = location_origins_from_yaml_paths([os.path.abspath(workspace_yaml)])
    return ExternalRepositoryOrigin(location_origin, repository_name)


def pipeline_origin(repo_origin: ExternalRepositoryOrigin, pipeline_name: str) -> ExternalPipelineOrigin:
    return ExternalPipelineOrigin(repo_origin, pipeline_name)
