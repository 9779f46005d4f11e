"""The application tier: ApiService, the Node API and the scheduler worker on ECS Fargate.

Creates (all as children of the one `webstack:app:ApiService` component):
- an ECR repository (scan on push, immutable tags) with a lifecycle policy (`repository`);
- an ECS cluster with Container Insights (and, with ECS Exec on, session logging to a log group
  `/ecs/<prefix>/exec`), and optionally a customer-managed KMS key (with rotation) that
  encrypts the tier's log groups (`cluster`);
- per service (`api`, `worker`), from one recipe (`workload`): a log group
  `/ecs/<prefix>/<service>` with retention, an execution role that can pull from the
  repository, write that log group and read exactly the secrets the service injects (`iam`), a
  task role (empty unless ECS Exec is on), a Fargate task definition and a service in the
  private subnets without public IPs; egress for both services to HTTPS, PostgreSQL and Redis
  only, on their (pre-made, empty) workload security groups;
- for the API (`api_service`): ingress from the load balancer on the container port,
  registration in the Edge's target group, zero-downtime deployments with circuit breaker and
  deployment alarms (both rolling back), and target tracking on CPU and memory; the deployments
  roll, or (`api.deployment`: CANARY, LINEAR, BLUE_GREEN) shift traffic between the Edge's two
  target groups through its listener rules, with an ECS infrastructure role scoped to them and
  service timeouts sized from the modeled shift and bake (`traffic_shift`, `rollout`); the
  worker always rolls, with target tracking on CPU when its config allows more than one count.

Both services wait for the `run_after` resources (the migration run), so a failed migration
stops the rollout before a new task definition reaches traffic; the API also waits for the
listener (and rule) that forward to its target group.

Bootstrap: without `api.image_tag` (a new stack, whose repository is still empty) the task
definitions, services and their autoscaling are left out, since no task could pull an image
and `pulumi up` would fail waiting for steady state; `first_deploy` then says what to do.
"""

from components.app.api_service import ApiService, ApiServiceArgs, ApiServiceWiring

__all__ = ["ApiService", "ApiServiceArgs", "ApiServiceWiring"]
