using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Tenancy;

/// <summary>What <c>validate</c> tells a new user: a shared schema's own errors, and a template copied but not filled in.</summary>
public sealed class TenantValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Configs => _dir.File("configs");

    private void Tenant(string id, string yaml)
    {
        Directory.CreateDirectory(Path.Combine(Configs, "tenants", id));
        File.WriteAllText(Path.Combine(Configs, "tenants", id, "tenant.yaml"), yaml);
    }

    private void ShippedSchemas()
    {
        Directory.CreateDirectory(Path.Combine(Configs, "schemas"));
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs", "schemas")))
        {
            File.Copy(f, Path.Combine(Configs, "schemas", Path.GetFileName(f)), overwrite: true);
        }
    }

    private string Shipped(string id, string newId) =>
        File.ReadAllText(Path.Combine(RepoPaths.Root, "configs", "tenants", id, "tenant.yaml"))
            .Replace($"tenant: {id}", $"tenant: {newId}", StringComparison.Ordinal)
            .Replace($"data/tenants/{id}/incoming", _dir.File($"{newId}/incoming"), StringComparison.Ordinal)
            .Replace("data/warehouse/", _dir.File($"{newId}/"), StringComparison.Ordinal);

    [Fact]
    public async Task Memory_budget_in_tenant_yaml_is_validated_used_by_explain_and_overridden_by_the_option()
    {
        ShippedSchemas();
        var file = Path.Combine(Configs, "tenants", "acme", "tenant.yaml");
        Tenant("acme", Shipped("pidilite", "acme") + "memory_budget: 8MiB\n");
        var tiny = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(Configs, "acme"));
        Assert.Equal([$"{file}: memory_budget: must be at least 16 MiB, got 8.0 MiB"], tiny.Errors);
        Tenant("acme", Shipped("pidilite", "acme") + "memory_budget: lots\n");
        var typo = Assert.Throws<ConfigException>(() => TenantConfigReader.Read(Configs, "acme"));
        Assert.Equal([$"{file}: memory_budget: expected a size such as 256MiB or 1GiB, got 'lots'"], typo.Errors);

        Tenant("acme", Shipped("pidilite", "acme") + "memory_budget: 512MiB\n");
        Assert.Equal(512L * 1024 * 1024, TenantConfigReader.Read(Configs, "acme").MemoryBudget);

        var (code, stdout, _) = await CliTests.RunAsync(_dir.Path, "explain", "--config", Configs, "--tenant", "acme", "--job", "morning");
        Assert.Equal(0, code);
        Assert.Contains("    memory budget 512.0 MiB (--memory-budget): ", stdout, StringComparison.Ordinal);
        (code, stdout, _) = await CliTests.RunAsync(_dir.Path, "explain", "--config", Configs, "--tenant", "acme", "--job", "morning", "--memory-budget", "64MiB");
        Assert.Equal(0, code);
        Assert.Contains("    memory budget 64.0 MiB (--memory-budget): ", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("memory budget 512.0 MiB", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broken_shared_schema_is_reported_once_with_its_own_file_and_not_as_unknown_tables()
    {
        ShippedSchemas();
        var schema = Path.Combine(Configs, "schemas", "territories.yaml");
        File.WriteAllText(schema, File.ReadAllText(schema)
            .Replace("key: [territory]", "key: [territory_code]", StringComparison.Ordinal)
            .Replace("{ name: territory, type: string, nullable: false }", "{ name: territory, type: varchr(2), nullable: false }", StringComparison.Ordinal));
        Tenant("acme", Shipped("pidilite", "acme"));
        Tenant("other", Shipped("uthra-global", "other"));

        string[] expected =
        [
            $"error: {schema}: columns[0].type: unknown type 'varchr(2)' (expected string, varchar(n), int8, int16, int32, int64, decimal(p,s), float64, bool, date, timestamp)",
            $"error: {schema}: key: unknown column 'territory_code'",
        ];
        foreach (var args in new[] { new[] { "validate", "--config", Configs }, ["validate", "--config", Configs, "--tenant", "acme"] })
        {
            var (code, stdout, stderr) = await CliTests.RunAsync(_dir.Path, args);
            Assert.Equal((2, ""), (code, stdout));
            Assert.Equal(expected, stderr.TrimEnd('\n').Split('\n'));
        }

        // A run of a tenant that uses it is refused with the same errors.
        var run = await CliTests.RunAsync(_dir.Path, "run", "--config", Configs, "--tenant", "acme", "--job", "morning", "--dry-run");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(expected, run.Err.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task A_copy_of_the_template_with_only_its_tenant_changed_names_every_placeholder_and_init_db_creates_nothing()
    {
        ShippedSchemas();
        Tenant("newco", File.ReadAllText(Path.Combine(RepoPaths.Root, "configs", "tenants", "_template", "tenant.yaml"))
            .Replace("tenant: _template", "tenant: newco", StringComparison.Ordinal));
        var file = Path.Combine(Configs, "tenants", "newco", "tenant.yaml");

        string[] expected =
        [
            $"error: {file}: display_name: <Display name> is a placeholder from the template: replace it with this tenant's value",
            $"error: {file}: database: <id> is a placeholder from the template: replace it with this tenant's value",
            $"error: {file}: source.path: <id> is a placeholder from the template: replace it with this tenant's value",
            $"error: {file}: sink.path: <id> is a placeholder from the template: replace it with this tenant's value",
        ];
        var validate = await CliTests.RunAsync(_dir.Path, "validate", "--config", Configs, "--tenant", "newco");
        Assert.Equal(2, validate.ExitCode);
        Assert.Equal(expected, validate.Err.TrimEnd('\n').Split('\n'));
        var init = await CliTests.RunAsync(_dir.Path, "init-db", "--config", Configs, "--tenant", "newco");
        Assert.Equal(2, init.ExitCode);
        Assert.Equal(expected, init.Err.TrimEnd('\n').Split('\n'));
        Assert.False(Directory.Exists(_dir.File("data")));

        // Filled in, it validates.
        File.WriteAllText(file, File.ReadAllText(file).Replace("<id>", "newco", StringComparison.Ordinal).Replace("<Display name>", "New Co", StringComparison.Ordinal));
        Assert.Equal("datawiz_newco", TenantConfigReader.Read(Configs, "newco").Database);
    }
}
