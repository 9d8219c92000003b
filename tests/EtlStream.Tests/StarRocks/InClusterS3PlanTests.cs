using Amazon.S3.Model;
using EtlStream.Generation;
using EtlStream.Sinks.StarRocks;
using EtlStream.State;
using EtlStream.Tenancy;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// An S3 tenant's in-cluster plan: listed and headers read from a real S3-compatible server, statements with
/// <c>aws.s3.*</c> properties. The FE stand-in serves <c>wasbs://</c> only, so S3 statements are checked as text, not run.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class InClusterS3PlanTests(S3Server s3) : IDisposable
{
    private const string PasswordSecret = "ETLSTREAM_TEST_INCLUSTER_S3_PW";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task An_s3_tenant_gets_statements_reading_s3_paths_with_its_secret_key_hidden()
    {
        var bucket = await s3.CreateBucketAsync("ic");
        using var client = s3.Client();
        foreach (var day in new[] { "2026-11-01", "2026-11-02" })
        {
            var file = _dir.File($"invoices_{day}.csv.gz");
            await InvoiceGenerator.WriteFileAsync(file, 50, seed: 3, default);
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = $"drops/invoices_{day}.csv.gz", FilePath = file, UseChunkEncoding = false });
        }

        var root = _dir.File("configs");
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs", "schemas")))
        {
            File.Copy(f, Path.Combine(root, "schemas", Path.GetFileName(f)));
        }

        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        Environment.SetEnvironmentVariable("ETLSTREAM_TEST_INCLUSTER_S3_SECRET", S3Server.SecretKey);
        // Its own variable: the Azure in-cluster tests, running at the same time in another collection, read theirs.
        Environment.SetEnvironmentVariable(PasswordSecret, "not-used-pw");
        await File.WriteAllTextAsync(Path.Combine(root, "tenants", "acme", "tenant.yaml"), $$"""
            tenant: acme
            database: datawiz_acme
            source:
              kind: s3
              bucket: {{bucket}}
              path: drops
              endpoint: {{s3.Endpoint}}
              access_key: {{S3Server.AccessKey}}
              secret_key: "${ETLSTREAM_TEST_INCLUSTER_S3_SECRET}"
            sink:
              kind: starrocks
              path: "starrocks://etl@fe.example:8030/datawiz_acme?mysql_port=9030"
              password: "${{{PasswordSecret}}}"
            tables:
              fact_invoice_secondary: { schema: fact_invoice_secondary, files: "invoices_{date}.csv.gz" }
            jobs:
              morning:
                steps:
                  - { name: facts, tables: [fact_invoice_secondary], mode: append }
            """);

        var tenant = TenantConfigReader.Read(root, "acme");
        var backfill = await BackfillPlan.BuildAsync(tenant, "fact_invoice_secondary", new DateOnly(2026, 11, 1), new DateOnly(2026, 11, 3), Shard.All, default, InClusterPlan.HeaderReads);
        var plan = await InClusterPlan.BuildAsync(StarRocksSinkProvider.InCluster(backfill), new Dictionary<string, LedgerEntry>(), new InClusterLoadOptions(), default);
        var text = plan.Describe();

        Assert.Equal(2, plan.Files.Count(f => !f.AlreadyLoaded));
        // s3rver's access key is its secret key too, so the printed plan scrubs both.
        Assert.Contains(
            $"FROM FILES(\"path\" = \"s3://{bucket}/drops/invoices_2026-11-02.csv.gz\", \"format\" = \"csv\", \"csv.skip_header\" = \"1\", \"csv.column_separator\" = \",\", \"csv.enclose\" = \"\\\"\", " +
            $"\"aws.s3.region\" = \"us-east-1\", \"aws.s3.access_key\" = \"***\", \"aws.s3.secret_key\" = \"***\", \"aws.s3.endpoint\" = \"{s3.Endpoint}\", \"aws.s3.enable_path_style_access\" = \"true\")\n",
            text, StringComparison.Ordinal);
        Assert.DoesNotContain(S3Server.SecretKey, text, StringComparison.Ordinal);
    }
}
