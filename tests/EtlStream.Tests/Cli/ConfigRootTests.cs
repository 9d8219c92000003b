using EtlStream.Generation;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Cli;

/// <summary>
/// Where tenant commands find configs/ and keep state/: run from folders outside the repository, as a new user's
/// shell or a scheduler would.
/// </summary>
public sealed class ConfigRootTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public ConfigRootTests()
    {
        Directory.CreateDirectory(Outside);
        var configs = Path.Combine(Home, "configs");
        Directory.CreateDirectory(Path.Combine(configs, "schemas"));
        File.Copy(Path.Combine(RepoPaths.Root, "configs", "schemas", "fact_invoice_secondary.yaml"), Path.Combine(configs, "schemas", "fact_invoice_secondary.yaml"));
        Directory.CreateDirectory(Path.Combine(configs, "tenants", "acme"));
        File.WriteAllText(Path.Combine(configs, "tenants", "acme", "tenant.yaml"), """
            tenant: acme
            database: datawiz_acme
            source: { kind: local, path: data/incoming }
            sink: { kind: duckdb, path: data/acme.duckdb }
            tables:
              fact_invoice_secondary: { schema: fact_invoice_secondary, files: "invoices_{date}.csv.gz" }
            jobs:
              morning:
                steps:
                  - { name: facts, tables: [fact_invoice_secondary], mode: append }
            """);
    }

    public void Dispose() => _dir.Dispose();

    private string Home => _dir.File("home");

    private string Outside => _dir.File("outside");

    private static Task<(int ExitCode, string Out, string Err)> Cli(string folder, string? home, params string[] args) =>
        CliProcess.RunAsync(folder, new Dictionary<string, string?> { ["ETLSTREAM_HOME"] = home }, args);

    [Theory]
    [InlineData("tenants")]
    [InlineData("validate")]
    [InlineData("runs")]
    [InlineData("run --tenant acme --job morning --date 2026-11-20")]
    [InlineData("backfill --tenant acme --table fact_invoice_secondary --from 2026-11-20 --to 2026-11-21")]
    [InlineData("init-db --tenant acme")]
    [InlineData("explain --tenant acme --job morning")]
    [InlineData("ledger list")]
    [InlineData("generate tenant --tenant acme --date 2026-11-20")]
    public async Task Outside_any_installation_a_tenant_command_says_so_exits_2_and_creates_nothing(string command)
    {
        var result = await Cli(Outside, null, command.Split(' '));
        Assert.Equal((2, "", $"error: no configs/tenants folder here or above {Outside}; pass --config-root or set ETLSTREAM_HOME\n"), result);
        Assert.Empty(Directory.GetFileSystemEntries(Outside));
    }

    [Fact]
    public async Task The_root_is_found_above_the_current_folder_or_from_the_flag_or_ETLSTREAM_HOME_and_state_logs_and_data_live_under_it()
    {
        await TenantDataGenerator.WriteDayAsync(Path.Combine(Home, "data", "incoming"), new DateOnly(2026, 11, 20), 5, 300, default);
        var deeper = Path.Combine(Home, "reports", "2026");
        Directory.CreateDirectory(deeper);

        var run = await Cli(deeper, null, "run", "--tenant", "acme", "--job", "morning", "--date", "2026-11-20");
        Assert.Equal((0, ""), (run.ExitCode, run.Err));
        Assert.True(File.Exists(Path.Combine(Home, "state", "ledger.db")));
        Assert.True(File.Exists(Path.Combine(Home, "data", "acme.duckdb"))); // tenant paths start at the root, not the current folder
        Assert.True(File.Exists(Path.Combine(Home, "logs", "acme", "2026-11-20-morning.log")));
        Assert.Empty(Directory.GetFileSystemEntries(deeper));

        var runs = await Cli(Outside, null, "runs", "--config-root", Home);
        Assert.Equal(0, runs.ExitCode);
        Assert.Contains("acme            morning     2026-11-20  succeeded", runs.Out);
        Assert.Equal((0, "valid: 1 tenant\n", ""), await Cli(Outside, Home, "validate"));
        Assert.Equal((0, "valid: 1 tenant\n", ""), await Cli(Outside, null, "validate", "--config", Path.Combine(Home, "configs")));
        Assert.Empty(Directory.GetFileSystemEntries(Outside));

        Assert.Equal((2, "", $"error: --config-root {Outside}: no configs/tenants folder in it\n"), await Cli(Home, null, "tenants", "--config-root", Outside));
        Assert.Equal((2, "", $"error: ETLSTREAM_HOME={Outside}: no configs/tenants folder in it\n"), await Cli(Home, Outside, "tenants"));
        Assert.Equal((2, "", "error: pass --config-root (the folder holding configs/) or --config (the configs folder), not both\n"),
            await Cli(Home, null, "tenants", "--config-root", Home, "--config", Path.Combine(Home, "configs")));
    }

    [Fact]
    public async Task An_installation_without_tenants_is_told_how_to_add_one()
    {
        Directory.Delete(Path.Combine(Home, "configs", "tenants", "acme"), recursive: true);
        var tenants = Path.Combine(Home, "configs", "tenants");
        var hint = $"no tenants under {tenants}: add one by copying {Path.Combine(tenants, "_template")} to {Path.Combine(tenants, "<id>")}";
        Assert.Equal((2, "", $"error: {hint}\n"), await Cli(Home, null, "validate"));
        Assert.Equal((0, "", $"{hint}\n"), await Cli(Home, null, "tenants"));
    }
}
