# Per service: an execution role (what ECS does before the app starts: pull the image, read that
# service's secrets, write its log group) and a task role (what the app itself may do).

locals {
  ecs_assume_role = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        ArnLike      = { "aws:SourceArn" = "arn:aws:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*" }
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
      }
    }]
  })

  artifact_objects = "${var.artifacts.bucket_arn}/*"
  model_objects    = "${var.artifacts.bucket_arn}/models/*"
}

resource "aws_iam_role" "execution" {
  for_each           = local.services
  name               = "${var.name}-${each.key}-execution"
  assume_role_policy = local.ecs_assume_role
}

resource "aws_iam_role_policy" "execution" {
  for_each = local.services
  name     = "start-${each.key}"
  role     = aws_iam_role.execution[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "EcrToken"
          Effect   = "Allow"
          Action   = ["ecr:GetAuthorizationToken"]
          Resource = ["*"] # this action has no resource-level permissions
        },
        {
          Sid      = "PullImage"
          Effect   = "Allow"
          Action   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
          Resource = [var.ecr_repository_arn]
        },
        {
          Sid      = "WriteOwnLogs"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${aws_cloudwatch_log_group.service[each.key].arn}:*"]
        },
      ],
      length(each.value.secrets) == 0 ? [] : [
        {
          Sid      = "ReadOwnSecrets"
          Effect   = "Allow"
          Action   = ["secretsmanager:GetSecretValue"]
          Resource = sort(distinct(values(each.value.secrets)))
        },
        {
          Sid      = "DecryptSecrets"
          Effect   = "Allow"
          Action   = ["kms:Decrypt"]
          Resource = [var.secrets_kms_key_arn]
          Condition = {
            StringEquals = { "kms:ViaService" = "secretsmanager.${data.aws_region.current.name}.amazonaws.com" }
          }
        },
      ],
    )
  })
}

resource "aws_iam_role" "task" {
  for_each           = local.services
  name               = "${var.name}-${each.key}-task"
  assume_role_policy = local.ecs_assume_role
}

resource "aws_iam_role_policy" "artifacts_read_write" {
  for_each = { for name, svc in local.services : name => svc if svc.needs.s3 == "read-write" }
  name     = "artifacts-read-write"
  role     = aws_iam_role.task[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource = [var.artifacts.bucket_arn]
      },
      {
        # No DeleteObject: artifacts are written once and referenced by sha256 from the registry.
        Sid      = "ReadWriteObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
        Resource = [local.artifact_objects]
      },
      {
        Sid      = "ArtifactKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = [var.artifacts.kms_key_arn]
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${data.aws_region.current.name}.amazonaws.com" }
        }
      },
    ]
  })
}

resource "aws_iam_role_policy" "artifacts_read_models" {
  for_each = { for name, svc in local.services : name => svc if svc.needs.s3 == "read-models" }
  name     = "artifacts-read-models"
  role     = aws_iam_role.task[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadModels"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = [local.model_objects]
      },
      {
        Sid      = "ArtifactKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.artifacts.kms_key_arn]
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${data.aws_region.current.name}.amazonaws.com" }
        }
      },
    ]
  })
}

# HeadBucket (the api's readiness check) is authorised by s3:ListBucket on the bucket.
resource "aws_iam_role_policy" "artifacts_bucket_only" {
  for_each = { for name, svc in local.services : name => svc if svc.needs.s3 == "bucket-only" }
  name     = "artifacts-bucket-only"
  role     = aws_iam_role.task[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "CheckBucket"
      Effect   = "Allow"
      Action   = ["s3:ListBucket"]
      Resource = [var.artifacts.bucket_arn]
    }]
  })
}

# ECS Exec (aws ecs execute-command) for on-call: the runbooks' shell into a task.
resource "aws_iam_role_policy" "exec" {
  for_each = { for name, svc in local.services : name => svc if var.enable_execute_command }
  name     = "ecs-exec"
  role     = aws_iam_role.task[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow"
      Action = [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ]
      Resource = ["*"] # ECS Exec's channels have no resource-level permissions
    }]
  })
}
