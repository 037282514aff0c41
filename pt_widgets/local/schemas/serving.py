"""Serving-endpoint shapes (``/api/2.0/serving-endpoints``), named as in databricks-sdk.

Each class is the SDK dataclass of the same name in ``databricks.sdk.service.serving``
(0.162.0), field for field; fields the local workspace cannot honour are still accepted,
stored and echoed (see ``pt_widgets/local/README.md`` for which, and why). Rules that span
fields (sizing against the chunk, traffic percentages) live in ``serving_rules.py``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import Count, Name, Percentage, Version, WireRequest, WireResponse

WorkloadType = Literal["CPU", "CPU_LARGE", "CPU_MEDIUM", "GPU_LARGE", "GPU_MEDIUM", "GPU_SMALL",
                       "GPU_XLARGE", "GPU_XLARGE_8", "MULTIGPU_MEDIUM"]
Deployment = Literal["DEPLOYMENT_ABORTED", "DEPLOYMENT_CREATING", "DEPLOYMENT_FAILED",
                     "DEPLOYMENT_READY", "DEPLOYMENT_RECOVERING"]
PermissionLevel = Literal["CAN_MANAGE", "CAN_QUERY", "CAN_VIEW"]
Provider = Literal["ai21labs", "amazon-bedrock", "anthropic", "cohere", "custom",
                   "databricks-model-serving", "google-cloud-vertex-ai", "openai", "palm"]
PtTerm = Literal["COMMITMENT_TERM_1_MONTH", "COMMITMENT_TERM_3_MONTHS"]
TelemetryFeature = Literal["TELEMETRY_FEATURE_INFERENCE_TABLE", "TELEMETRY_FEATURE_LOGS",
                           "TELEMETRY_FEATURE_METRICS", "TELEMETRY_FEATURE_TRACES"]
ExportState = Literal["ENABLED", "DISABLED"]


# -- pieces shared by requests and responses --------------------------------------------------

class EndpointTag(WireRequest):
    key: str = Field(min_length=1)
    value: str | None = None


class EmailNotifications(WireRequest):
    on_update_failure: list[str] | None = None
    on_update_success: list[str] | None = None


class Route(WireRequest):
    traffic_percentage: Percentage
    served_entity_name: str | None = None
    served_model_name: str | None = None


class TrafficConfig(WireRequest):
    routes: list[Route] | None = None


class AutoCaptureConfigInput(WireRequest):
    catalog_name: str | None = None
    enabled: bool | None = None
    schema_name: str | None = None
    table_name_prefix: str | None = None


class OpenAiConfig(WireRequest):
    """``openai_config``: any OpenAI-compatible server (``openai_api_base``)."""

    openai_api_base: str | None = None
    openai_api_key: str | None = None
    openai_api_key_plaintext: str | None = None
    openai_api_type: str | None = None
    openai_api_version: str | None = None
    openai_deployment_name: str | None = None
    openai_organization: str | None = None
    microsoft_entra_client_id: str | None = None
    microsoft_entra_client_secret: str | None = None
    microsoft_entra_client_secret_plaintext: str | None = None
    microsoft_entra_tenant_id: str | None = None


class ApiKeyAuth(WireRequest):
    key: str | None = None
    value: str | None = None
    value_plaintext: str | None = None


class BearerTokenAuth(WireRequest):
    token: str | None = None
    token_plaintext: str | None = None


class CustomProviderConfig(WireRequest):
    custom_provider_url: str | None = None
    api_key_auth: ApiKeyAuth | None = None
    bearer_token_auth: BearerTokenAuth | None = None


ProviderConfig = dict[str, Any]  # providers the local workspace refuses: passed as-is


class ExternalModel(WireRequest):
    """A served entity's ``external_model``. Providers ``openai`` and ``custom`` are served
    (``governance/external.py`` holds the rules across fields); the others are refused there,
    so their configs are not modelled field by field."""

    provider: Provider
    name: str
    task: str
    openai_config: OpenAiConfig | None = None
    custom_provider_config: CustomProviderConfig | None = None
    ai21labs_config: ProviderConfig | None = None
    amazon_bedrock_config: ProviderConfig | None = None
    anthropic_config: ProviderConfig | None = None
    cohere_config: ProviderConfig | None = None
    databricks_model_serving_config: ProviderConfig | None = None
    google_cloud_vertex_ai_config: ProviderConfig | None = None
    palm_config: ProviderConfig | None = None


class FallbackConfig(WireRequest):
    enabled: bool


class PiiBehavior(WireRequest):
    behavior: Literal["BLOCK", "MASK", "NONE"] | None = None


class AiGatewayGuardrailParameters(WireRequest):
    invalid_keywords: list[str] | None = None
    pii: PiiBehavior | None = None
    safety: bool | None = None
    valid_topics: list[str] | None = None


class AiGatewayGuardrails(WireRequest):
    input: AiGatewayGuardrailParameters | None = None
    output: AiGatewayGuardrailParameters | None = None


class AiGatewayInferenceTableConfig(AutoCaptureConfigInput):
    pass


class AiGatewayRateLimit(WireRequest):
    renewal_period: Literal["minute"]
    calls: Count | None = None
    key: Literal["endpoint", "service_principal", "user", "user_group"] | None = None
    principal: str | None = None
    tokens: Count | None = None


class AiGatewayUsageTrackingConfig(WireRequest):
    enabled: bool | None = None


class AiGatewayConfig(WireRequest):
    """``PUT …/ai-gateway`` body and answer (PutAiGatewayRequest/-Response), and create's."""

    fallback_config: FallbackConfig | None = None
    guardrails: AiGatewayGuardrails | None = None
    inference_table_config: AiGatewayInferenceTableConfig | None = None
    rate_limits: list[AiGatewayRateLimit] | None = None
    usage_tracking_config: AiGatewayUsageTrackingConfig | None = None


class RateLimit(WireRequest):
    calls: Count
    renewal_period: Literal["minute"]
    key: Literal["endpoint", "user"] | None = None


class TelemetryInferenceTableConfig(WireRequest):
    name: str | None = None
    sampling_fraction: float | None = Field(default=None, ge=0, le=1)


class UnityCatalogTableNames(WireRequest):
    annotations_table: str | None = None
    logs_table: str | None = None
    metrics_table: str | None = None
    traces_table: str | None = None


class TelemetryConfig(WireRequest):
    enabled_telemetry_features: list[TelemetryFeature] | None = None
    inference_table_config: TelemetryInferenceTableConfig | None = None
    table_names: UnityCatalogTableNames | None = None
    telemetry_profile_id: str | None = None


# -- served entities in -----------------------------------------------------------------------

class ScalingFields(WireRequest):
    """What ServedEntityInput and ServedModelInput share besides the model's name/version."""

    name: Name | None = None
    burst_scaling_enabled: bool | None = None
    environment_vars: dict[str, str] | None = None
    instance_profile_arn: str | None = None
    max_provisioned_concurrency: Count | None = None
    min_provisioned_concurrency: Count | None = None
    max_provisioned_throughput: Count | None = None
    min_provisioned_throughput: Count | None = None
    provisioned_model_units: Count | None = None
    scale_to_zero_enabled: bool | None = None
    workload_size: str | None = None
    workload_type: WorkloadType | None = None


class ServedEntityInput(ScalingFields):
    entity_name: str | None = Field(default=None, min_length=1)
    entity_version: Version | None = None
    external_model: ExternalModel | None = None


class ServedModelInput(ScalingFields):
    """Deprecated ``served_models`` element; ``scale_to_zero_enabled`` is required by the SDK
    type but older clients omit it, so it keeps the entity default (false)."""

    model_name: str = Field(min_length=1)
    model_version: Version


class PtServedModel(WireRequest):
    entity_name: str = Field(min_length=1)
    provisioned_model_units: Count
    entity_version: Version | None = None
    name: Name | None = None
    burst_scaling_enabled: bool | None = None
    pt_term: PtTerm | None = None  # databricks-sdk-py git (0.133) only; no local effect
    pt_auto_renew: bool | None = None  # idem


class EndpointCoreConfigInput(WireRequest):
    """``PUT …/{name}/config`` body, and ``config`` on create (where ``name`` may repeat the
    endpoint's name: the SDK serializes it)."""

    name: str | None = None
    served_entities: list[ServedEntityInput] | None = None
    served_models: list[ServedModelInput] | None = None
    traffic_config: TrafficConfig | None = None
    auto_capture_config: AutoCaptureConfigInput | None = None


class PtEndpointCoreConfig(WireRequest):
    served_entities: list[PtServedModel] | None = None
    traffic_config: TrafficConfig | None = None


class EndpointCommonInput(WireRequest):
    """Top-level create fields both create routes take."""

    name: Name
    ai_gateway: AiGatewayConfig | None = None
    budget_policy_id: str | None = None
    description: str | None = None
    email_notifications: EmailNotifications | None = None
    tags: list[EndpointTag] | None = None
    usage_policy_id: str | None = None


class CreateServingEndpoint(EndpointCommonInput):
    config: EndpointCoreConfigInput | None = None
    rate_limits: list[RateLimit] | None = None
    route_optimized: bool | None = None
    telemetry_config: TelemetryConfig | None = None
    uc_system_metrics_export_state: ExportState | None = None  # sdk git (0.133) only


class CreatePtEndpointRequest(EndpointCommonInput):
    config: PtEndpointCoreConfig | None = None


class UpdateProvisionedThroughputEndpointConfigRequest(WireRequest):
    config: PtEndpointCoreConfig | None = None
    relocate_pt_commitment: bool | None = None  # sdk git (0.133) only
    pt_commitment_auto_renew: bool | None = None  # idem


class PatchServingEndpointTags(WireRequest):
    add_tags: list[EndpointTag] | None = None
    delete_tags: list[str] | None = None


class PutRequest(WireRequest):
    rate_limits: list[RateLimit] | None = None


class UpdateInferenceEndpointNotifications(WireRequest):
    email_notifications: EmailNotifications | None = None


class PatchTelemetryConfigRequest(WireRequest):
    telemetry_config: TelemetryConfig | None = None


# -- responses --------------------------------------------------------------------------------

class FoundationModel(WireResponse):
    name: str | None = None
    display_name: str | None = None
    description: str | None = None
    docs: str | None = None


class ServedModelState(WireResponse):
    deployment: Deployment | None = None
    deployment_state_message: str | None = None


class ServedEntitySpec(WireResponse):
    """The list's view of a served entity; ServedEntityOutput adds the rest."""

    name: str | None = None
    entity_name: str | None = None
    entity_version: str | None = None
    foundation_model: FoundationModel | None = None
    external_model: ExternalModel | None = None


class ServedModelSpec(WireResponse):
    name: str | None = None
    model_name: str | None = None
    model_version: str | None = None


class ServedOutputFields(WireResponse):
    """What ServedEntityOutput and ServedModelOutput add to their specs."""

    creator: str | None = None
    creation_timestamp: int | None = None
    state: ServedModelState | None = None
    burst_scaling_enabled: bool | None = None
    environment_vars: dict[str, str] | None = None
    instance_profile_arn: str | None = None
    min_provisioned_concurrency: int | None = None
    max_provisioned_concurrency: int | None = None
    min_provisioned_throughput: int | None = None
    max_provisioned_throughput: int | None = None
    provisioned_model_units: int | None = None
    scale_to_zero_enabled: bool | None = None
    workload_size: str | None = None
    workload_type: str | None = None
    # seen in real PT responses, not in the SDK (databricks-api.md §1.4)
    dbus: float | None = None
    min_dbus: float | None = None
    max_dbus: float | None = None


class ServedEntityOutput(ServedOutputFields, ServedEntitySpec):
    pt_term: str | None = None
    pt_auto_renew: bool | None = None


class ServedModelOutput(ServedOutputFields, ServedModelSpec):
    pass


class EndpointCoreConfigOutput(WireResponse):
    config_version: int | None = None
    served_entities: list[ServedEntityOutput] | None = None
    served_models: list[ServedModelOutput] | None = None
    traffic_config: TrafficConfig | None = None
    auto_capture_config: AutoCaptureConfigInput | None = None


class EndpointPendingConfig(EndpointCoreConfigOutput):
    start_time: int | None = None


class EndpointState(WireResponse):
    ready: Literal["READY", "NOT_READY"] | None = None
    config_update: Literal["NOT_UPDATING", "IN_PROGRESS", "UPDATE_FAILED",
                           "UPDATE_CANCELED"] | None = None
    suspend: str | None = None  # real responses carry it; the SDK ignores it


class EndpointFields(WireResponse):
    """What the detailed endpoint and the list element share."""

    name: str | None = None
    id: str | None = None
    creator: str | None = None
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    state: EndpointState | None = None
    task: str | None = None
    tags: list[EndpointTag] | None = None
    ai_gateway: AiGatewayConfig | None = None
    budget_policy_id: str | None = None
    description: str | None = None
    telemetry_config: TelemetryConfig | None = None
    usage_policy_id: str | None = None


class ServingEndpointDetailed(EndpointFields):
    config: EndpointCoreConfigOutput | None = None
    pending_config: EndpointPendingConfig | None = None
    permission_level: PermissionLevel | None = None
    route_optimized: bool | None = None
    email_notifications: EmailNotifications | None = None
    rate_limits: list[RateLimit] | None = None
    uc_system_metrics_export_state: str | None = None


class EndpointCoreConfigSummary(WireResponse):
    served_entities: list[ServedEntitySpec] | None = None
    served_models: list[ServedModelSpec] | None = None


class ServingEndpoint(EndpointFields):
    config: EndpointCoreConfigSummary | None = None


class ServingEndpointList(WireResponse):
    endpoints: list[ServingEndpoint]


class EndpointTags(WireResponse):
    tags: list[EndpointTag]


class PutResponse(WireResponse):
    rate_limits: list[RateLimit]


class UpdateInferenceEndpointNotificationsResponse(WireResponse):
    name: str
    email_notifications: EmailNotifications | None = None


class Logs(WireResponse):
    """BuildLogsResponse and ServerLogsResponse."""

    logs: str


class Empty(WireResponse):
    pass


class OptimizationInfo(WireResponse):
    """``get-model-optimization-info`` (not in the SDK; databricks-api.md §2)."""

    optimizable: bool
    model_type: str | None = None
    reason: str | None = None
    throughput_chunk_size: int | None = None
    model_unit_chunk_size: int | None = None
    dbus: float | None = None
