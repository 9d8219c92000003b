using System.Text.RegularExpressions;
using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Tests.Sources;

/// <summary>Tenants whose files arrive in Azure Blob Storage: <c>source: { kind: azure, … }</c> with <c>${NAME}</c> secrets.</summary>
[Collection(AzuriteCollection.Name)]
public sealed partial class TenantObjectStoreTests(AzuriteServer server) : IDisposable
{
    private static readonly DateOnly Day = new(2026, 11, 24);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_tenant_reading_from_Azure_plans_and_runs_its_morning_job_with_its_key_from_env()
    {
        var container = await server.CreateContainerAsync("tenant");
        var generated = _dir.File("generated");
        var counts = await TenantDataGenerator.WriteDayAsync(generated, Day, seed: 9, invoiceRows: 2_000, default);
        await TenantDataGenerator.WriteDayAsync(generated, Day.AddDays(-1), seed: 9, invoiceRows: 100, default);
        foreach (var file in Directory.GetFiles(generated))
        {
            await container.GetBlobClient($"drops/{Path.GetFileName(file)}").UploadAsync(file);
        }

        var root = Configs($"""
            source:
              kind: azure
              container: {container.Name}
              path: drops
              account_url: {server.AccountUrl}
              account_key: ${"{"}ACME_AZURE_KEY{"}"}
            """);
        await File.WriteAllTextAsync(Path.Combine(root, "tenants", "acme", ".env"), $"ACME_AZURE_KEY={AzuriteServer.AccountKey}\n");

        var tenant = TenantConfigReader.Read(root, "acme");
        var plan = await JobPlan.BuildAsync(tenant, "morning", Day, default);
        Assert.All(plan.Loads, l => Assert.Equal($"az://{container.Name}/drops/{l.Table.FilePattern.Replace("{date}", "2026-11-24", StringComparison.Ordinal)}", Assert.Single(l.Files).Name));
        var described = plan.Describe();
        Assert.Contains($"  from azure {server.AccountUrl}/{container.Name}/drops/\n", described);
        Assert.DoesNotContain(AzuriteServer.AccountKey, described, StringComparison.Ordinal);

        var results = await TenantJobRunner.RunAsync(plan, new LoadOptions { RejectsPath = _dir.File("rejects") }, NullLogger.Instance, default);
        foreach (var result in results)
        {
            Assert.Equal(counts[result.Table == "fact_invoice_secondary" ? "invoices" : result.Table], result.Result.RowsRead);
            var file = Assert.Single(result.Result.FileResults);
            Assert.False(string.IsNullOrEmpty(file.Version));
            Assert.NotNull(file.LastModified);
        }

        var missing = await Assert.ThrowsAsync<MissingFilesException>(() => JobPlan.BuildAsync(tenant, "morning", Day.AddDays(1), default));
        Assert.Contains($"acme: table 'dealers': no file matches 'dealers_2026-11-25.csv.gz' in az://{container.Name}/drops/", missing.Missing);
    }

    [Fact]
    public void Object_store_sources_are_checked_with_every_error_and_its_path()
    {
        var root = Configs("""
            source: { kind: azure, path: drops, sas_token: abc, bucket: b }
            """);
        TenantConfigReader.ReadAll(root, out var errors);
        var file = Path.Combine(root, "tenants", "acme", "tenant.yaml");
        Assert.Equal(
            [
                $"{file}: source.bucket: not a setting of a azure source (path, container, connection_string, account_url, sas_token, account_key)",
                $"{file}: source.container: required",
                $"{file}: source: give either connection_string or account_url (with sas_token, account_key, or neither for DefaultAzureCredential)",
            ],
            errors);

        root = Configs("""
            source: { kind: s3, endpoint: "not a url", access_key: k, path_style: maybe }
            """);
        TenantConfigReader.ReadAll(root, out errors);
        file = Path.Combine(root, "tenants", "acme", "tenant.yaml");
        Assert.Equal(
            [
                $"{file}: source.path_style: 'maybe' is not true or false",
                $"{file}: source.bucket: required",
                $"{file}: source.endpoint: not an absolute URL",
                $"{file}: source: access_key and secret_key go together",
            ],
            errors);
    }

    /// <summary>A configs folder with the shipped schemas and pidilite's tenant.yaml as tenant <c>acme</c>, its source replaced.</summary>
    private string Configs(string source)
    {
        var root = _dir.File($"configs-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs", "schemas")))
        {
            File.Copy(f, Path.Combine(root, "schemas", Path.GetFileName(f)));
        }

        var yaml = File.ReadAllText(Path.Combine(RepoPaths.Root, "configs", "tenants", "pidilite", "tenant.yaml"))
            .Replace("tenant: pidilite", "tenant: acme", StringComparison.Ordinal)
            .Replace("data/warehouse/", $"{_dir.Path}/warehouse/", StringComparison.Ordinal);
        yaml = SourceBlock().Replace(yaml, source.TrimEnd() + "\n");
        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        File.WriteAllText(Path.Combine(root, "tenants", "acme", "tenant.yaml"), yaml);
        return root;
    }

    [GeneratedRegex(@"^source:\n(?:  .*\n)+", RegexOptions.Multiline)]
    private static partial Regex SourceBlock();
}
