# Every service scales between sizes[name].min and .max: on CPU, and the HTTP services also on
# requests per task. Ingestion never runs more consumers than a topic has partitions: the extra
# ones would sit idle in the consumer group (docs/operations.md).

resource "aws_appautoscaling_target" "service" {
  for_each           = local.services
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.service[each.key].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.sizes[each.key].min
  max_capacity       = var.sizes[each.key].max

  lifecycle {
    precondition {
      condition     = var.sizes[each.key].min <= var.sizes[each.key].max
      error_message = "sizes.${each.key}: min must not exceed max."
    }
    precondition {
      condition     = each.key != "ingestion" || var.sizes[each.key].max <= var.kafka_partitions_per_topic
      error_message = "sizes.ingestion.max exceeds kafka_partitions_per_topic: consumers beyond the partition count get no partitions."
    }
  }
}

resource "aws_appautoscaling_policy" "cpu" {
  for_each           = local.services
  name               = "${each.key}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.service[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.service[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.sizes[each.key].cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "requests" {
  for_each           = { for name, svc in local.public_services : name => svc if var.sizes[name].requests_per_task != null }
  name               = "${each.key}-requests"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.service[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.service[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.service[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.sizes[each.key].requests_per_task
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      resource_label         = "${aws_lb.this.arn_suffix}/${aws_lb_target_group.service[each.key].arn_suffix}"
    }
  }
}
