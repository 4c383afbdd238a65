output "cluster_name" {
  value = aws_ecs_cluster.this.name
}

output "alb_dns_name" {
  description = "Point the three host names here (CNAME or alias records)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  value = aws_lb.this.zone_id
}

output "service_security_group_ids" {
  value = { for name, sg in aws_security_group.service : name => sg.id }
}

output "task_role_arns" {
  value = { for name, role in aws_iam_role.task : name => role.arn }
}
