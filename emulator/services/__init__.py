"""The AWS services a template needs that the emulator does not imitate itself, served on localhost, and CloudWatch's
reading of the functions' logs.

- local.py: LocalServices: the template's DynamoDB tables created as CloudFormation would, the endpoints the
  functions get (`AWS_ENDPOINT_URL_<SERVICE>`), and the process's one moto server.
- dynalite.py (+ dynalite.js): DynamoDB, as a Node child process.
- cognito.py: user pools and app clients, in moto, created while the template is read.
- cloudwatch.py: Embedded Metric Format: the metrics in the functions' log lines, summed up.
"""
