using DuckDB.NET.Data;
using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Tests.Tenancy;

public sealed class TenantTests : IDisposable
{
    private static readonly DateOnly Day1 = new(2026, 11, 23);
    private static readonly DateOnly Day2 = new(2026, 11, 24);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A configs folder with the shipped schemas and one tenant whose paths point into the temp folder.</summary>
    private string Configs(string tenantYaml, string tenant = "acme", string? extraTenant = null)
    {
        var root = _dir.File("configs");
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs", "schemas")))
        {
            File.Copy(f, Path.Combine(root, "schemas", Path.GetFileName(f)), overwrite: true);
        }

        Directory.CreateDirectory(Path.Combine(root, "tenants", tenant));
        File.WriteAllText(Path.Combine(root, "tenants", tenant, "tenant.yaml"), tenantYaml.Replace("$TMP", _dir.Path, StringComparison.Ordinal));
        if (extraTenant is not null)
        {
            Directory.CreateDirectory(Path.Combine(root, "tenants", "other"));
            File.WriteAllText(Path.Combine(root, "tenants", "other", "tenant.yaml"), extraTenant.Replace("$TMP", _dir.Path, StringComparison.Ordinal));
        }

        return root;
    }

    private static string ShippedTenantAt(string id, string dir) =>
        File.ReadAllText(Path.Combine(RepoPaths.Root, "configs", "tenants", id, "tenant.yaml"))
            .Replace($"data/tenants/{id}/incoming", $"{dir}/incoming", StringComparison.Ordinal)
            .Replace("data/warehouse/", $"{dir}/warehouse/", StringComparison.Ordinal);

    [Fact]
    public void Both_shipped_tenants_validate()
    {
        var tenants = TenantConfigReader.ReadAll(Path.Combine(RepoPaths.Root, "configs"), out var errors);
        Assert.Empty(errors);
        Assert.Equal(["pidilite", "uthra-global"], tenants.Select(t => t.Id));
        var pidilite = tenants[0];
        Assert.Equal("datawiz_pidilite", pidilite.Database);
        Assert.Equal(["morning", "evening"], pidilite.Jobs.Keys);
        Assert.Equal(["dimensions", "facts"], pidilite.Jobs["morning"].Steps.Select(s => s.Name));
        Assert.Equal(StepMode.Replace, pidilite.Jobs["evening"].Steps.Single().Mode);
        var key = (ConcatSpec)tenants[1].Tables["fact_invoice_secondary"].Spec.Columns[0].Computed!;
        Assert.Equal("-", key.Separator); // uthra-global's override of the shared schema
        Assert.Equal("|", ((ConcatSpec)pidilite.Tables["fact_invoice_secondary"].Spec.Columns[0].Computed!).Separator);
    }

    [Fact]
    public void A_broken_config_lists_every_error_with_file_and_path()
    {
        var root = Configs("""
            tenant: acme
            database: datawiz_shared
            colour: blue
            source: { kind: local, path: $TMP/in, sas_token: "${ETLSTREAM_TEST_UNSET_SECRET}" }
            sink: { kind: duckdb, path: $TMP/w.duckdb }
            tables:
              dealers: { schema: dealers, files: "dealers.csv.gz", mapping: { nope: X } }
              ghosts: { schema: ghosts, files: "ghosts_{date}.csv" }
            jobs:
              morning:
                steps:
                  - { name: a, tables: [dealers, missing], mode: upsert, after: [b] }
                  - { name: b, tables: [dealers], after: [a] }
            rls:
              views:
                - { table: dealers, column: zone }
            """,
            extraTenant: """
            tenant: other
            database: datawiz_shared
            source: { kind: local, path: $TMP/other }
            sink: { kind: duckdb, path: $TMP/other.duckdb }
            tables: {}
            jobs: {}
            """);

        TenantConfigReader.ReadAll(root, out var errors);
        var file = Path.Combine(root, "tenants", "acme", "tenant.yaml");
        Assert.Contains($"{file}: colour: unknown key (expected one of: tenant, display_name, database, source, sink, tables, jobs, rls, memory_budget)", errors);
        Assert.Contains($"{file}: source.sas_token: secret ${{ETLSTREAM_TEST_UNSET_SECRET}} is not set (set the environment variable or add it to the tenant's .env)", errors);
        Assert.Contains($"{file}: tables.dealers.files: 'dealers.csv.gz' has no {{date}} placeholder", errors);
        Assert.Contains($"{file}: tables.dealers.mapping.nope: 'nope' is not a column of schema 'dealers' read from the source", errors);
        Assert.Contains(errors, e => e.StartsWith($"{file}: tables.ghosts.schema: no schema 'ghosts'", StringComparison.Ordinal));
        Assert.Contains($"{file}: jobs.morning.steps[0].tables: unknown table 'missing'", errors);
        Assert.Contains($"{file}: jobs.morning.steps[0].mode: unknown mode 'upsert' (expected append, merge or replace)", errors);
        Assert.Contains($"{file}: jobs.morning: the steps' 'after' dependencies form a cycle", errors);
        Assert.Contains($"{file}: rls.views[0].column: table 'dealers' has no column 'zone'", errors);
        var other = Path.Combine(root, "tenants", "other", "tenant.yaml");
        Assert.DoesNotContain(errors, e => e.Contains("belongs to tenant", StringComparison.Ordinal) && !e.StartsWith(other, StringComparison.Ordinal));
    }

    [Fact]
    public void A_tenant_naming_another_tenants_database_is_an_error()
    {
        var acme = ShippedTenantAt("pidilite", _dir.File("a")).Replace("tenant: pidilite", "tenant: acme", StringComparison.Ordinal);
        var other = ShippedTenantAt("uthra-global", _dir.File("b"))
            .Replace("tenant: uthra-global", "tenant: other", StringComparison.Ordinal)
            .Replace("database: datawiz_uthra_global", "database: datawiz_pidilite", StringComparison.Ordinal);
        var root = Configs(acme, extraTenant: other);
        TenantConfigReader.ReadAll(root, out var errors);
        Assert.Equal([$"{Path.Combine(root, "tenants", "other", "tenant.yaml")}: database: 'datawiz_pidilite' belongs to tenant 'acme'"], errors);
    }

    [Fact]
    public async Task Morning_and_evening_jobs_run_end_to_end_on_the_embedded_default()
    {
        var root = Configs(ShippedTenantAt("pidilite", _dir.Path).Replace("tenant: pidilite", "tenant: acme", StringComparison.Ordinal));
        var tenant = TenantConfigReader.Read(root, "acme");
        var incoming = _dir.File("incoming");
        var day1 = await TenantDataGenerator.WriteDayAsync(incoming, Day1, seed: 5, invoiceRows: 3_000, default);
        var day2 = await TenantDataGenerator.WriteDayAsync(incoming, Day2, seed: 5, invoiceRows: 2_000, default);
        var db = tenant.Sink.Path;
        long Count(string sql) => Convert.ToInt64(DuckDbQuery.Scalar(db, sql));
        long Kept(DateOnly d) => Convert.ToInt64(DuckDbQuery.Scalar(null,
            $"SELECT count(*) FROM read_csv({DuckDbQuery.Literal(Path.Combine(incoming, $"invoices_{d:yyyy-MM-dd}.csv.gz"))}, header = true, all_varchar = true) WHERE trim(Qty)::BIGINT <> 0"));

        var morning1 = await TenantJobRunner.RunAsync(await JobPlan.BuildAsync(tenant, "morning", Day1, default), new LoadOptions(), NullLogger.Instance, default);
        Assert.Equal(["dealers", "products", "salesmen", "territories", "fact_invoice_secondary"], morning1.Select(r => r.Table));
        Assert.Equal(day1["dealers"], Count("SELECT count(*) FROM dealers"));
        Assert.Equal(Kept(Day1), Count("SELECT count(*) FROM fact_invoice_secondary"));
        Assert.Equal(Kept(Day1), Count("SELECT count(*) FROM fact_invoice_secondary WHERE tenant_id = 'acme' AND load_date = DATE '2026-11-23'"));

        // Day 2: dimensions merge by key (not doubled), invoices add up.
        await TenantJobRunner.RunAsync(await JobPlan.BuildAsync(tenant, "morning", Day2, default), new LoadOptions(), NullLogger.Instance, default);
        Assert.Equal(day2["dealers"], Count("SELECT count(*) FROM dealers"));
        Assert.Equal(day2["products"], Count("SELECT count(*) FROM products"));
        Assert.Equal(Kept(Day1) + Kept(Day2), Count("SELECT count(*) FROM fact_invoice_secondary"));

        // Evening: the dimensions are replaced by day 2's snapshot.
        await TenantJobRunner.RunAsync(await JobPlan.BuildAsync(tenant, "evening", Day2, default), new LoadOptions(), NullLogger.Instance, default);
        Assert.Equal(day2["dealers"], Count("SELECT count(*) FROM dealers WHERE load_date = DATE '2026-11-24'"));
        Assert.Equal(day2["dealers"], Count("SELECT count(*) FROM dealers"));

        // A refresh that fails part-way leaves the old content intact.
        var day3 = new DateOnly(2026, 11, 25);
        await TenantDataGenerator.WriteDayAsync(incoming, day3, seed: 5, invoiceRows: 500, default);
        var broken = Path.Combine(incoming, "dealers_2026-11-25.csv.gz");
        File.Delete(broken);
        await File.WriteAllTextAsync(broken, "Dealer_Code,Dealer_Name,Territory,Region,Active,Onboarded_On\nD000001,A,T,R,Y,2020-01-01\nD000002,B,T,R,maybe,2020-01-01\n");
        var eveningPlan = await JobPlan.BuildAsync(tenant, "evening", day3, default);
        var failure = await Assert.ThrowsAsync<RejectLimitException>(() =>
            TenantJobRunner.RunAsync(eveningPlan, new LoadOptions { RejectsPath = _dir.File("rejects") }, NullLogger.Instance, default));
        Assert.StartsWith($"{broken}: 1 of 2 rows rejected (50.00 %), over max_reject_ratio 0; first: line 3, column 'active'", failure.Message);
        Assert.True(File.Exists(_dir.File("rejects/acme/2026-11-25-evening-dealers.parquet")));
        Assert.Equal(day2["dealers"], Count("SELECT count(*) FROM dealers WHERE load_date = DATE '2026-11-24'"));
    }

    [Fact]
    public async Task Secure_views_show_each_user_only_the_rows_mapped_to_them()
    {
        var root = Configs(ShippedTenantAt("pidilite", _dir.Path).Replace("tenant: pidilite", "tenant: acme", StringComparison.Ordinal));
        var tenant = TenantConfigReader.Read(root, "acme");
        await TenantDataGenerator.WriteDayAsync(_dir.File("incoming"), Day1, seed: 9, invoiceRows: 2_000, default);
        var created = await TenantDatabase.InitializeAsync(tenant, default);
        Assert.Contains("view secure_fact_invoice_secondary (fact_invoice_secondary by territory)", created);
        await TenantJobRunner.RunAsync(await JobPlan.BuildAsync(tenant, "morning", Day1, default), new LoadOptions(), NullLogger.Instance, default);

        var territories = DuckDbQuery.Rows(tenant.Sink.Path, "SELECT territory, count(*) FROM fact_invoice_secondary GROUP BY territory ORDER BY count(*) DESC LIMIT 3");
        var (t1, n1) = ((string)territories[0][0]!, Convert.ToInt64(territories[0][1]));
        var (t2, n2) = ((string)territories[1][0]!, Convert.ToInt64(territories[1][1]));
        var (t3, n3) = ((string)territories[2][0]!, Convert.ToInt64(territories[2][1]));
        using (var connection = new DuckDBConnection($"Data Source={tenant.Sink.Path}"))
        {
            connection.Open();
            using var insert = connection.CreateCommand();
            insert.CommandText = $"INSERT INTO user_access VALUES ('alice', 'territory', '{t1}'), ('bob', 'territory', '{t2}'), ('bob', 'territory', '{t3}')";
            insert.ExecuteNonQuery();
        }

        long VisibleTo(string user, string where = "")
        {
            using var connection = new DuckDBConnection($"Data Source={tenant.Sink.Path};ACCESS_MODE=READ_ONLY");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"SET VARIABLE etlstream_user = '{user}'; SELECT count(*) FROM secure_fact_invoice_secondary {where}";
            return Convert.ToInt64(command.ExecuteScalar());
        }

        Assert.Equal(n1, VisibleTo("alice"));
        Assert.Equal(0, VisibleTo("alice", $"WHERE territory <> '{t1}'"));
        Assert.Equal(n2 + n3, VisibleTo("bob"));
        Assert.Equal(0, VisibleTo("mallory"));
    }

    [Fact]
    public async Task A_secret_never_appears_in_output_plans_reports_or_logs()
    {
        const string Sentinel = "SENTINEL-sig-3f9a7c1e";
        var yaml = ShippedTenantAt("pidilite", _dir.Path).Replace("tenant: pidilite", "tenant: acme", StringComparison.Ordinal)
            .Replace($"path: {_dir.Path}/incoming", $"path: {_dir.Path}/in-${{ACME_SAS}}", StringComparison.Ordinal); // object-store secrets: Sources/ObjectStoreCliTests
        var root = Configs(yaml);
        await File.WriteAllTextAsync(Path.Combine(root, "tenants", "acme", ".env"), $"ACME_SAS={Sentinel}\n");
        await TenantDataGenerator.WriteDayAsync(_dir.File($"in-{Sentinel}"), Day1, seed: 3, invoiceRows: 500, default);
        var logs = _dir.File("logs");
        var report = _dir.File("report.json");

        var outputs = new List<(int, string, string)>
        {
            await CliTests.RunAsync(_dir.Path, "validate", "--config", root),
            await CliTests.RunAsync(_dir.Path, "tenants", "--config", root),
            await CliTests.RunAsync(_dir.Path, "run", "--config", root, "--tenant", "acme", "--job", "morning", "--date", "2026-11-23", "--dry-run"),
            await CliTests.RunAsync(_dir.Path, "run", "--config", root, "--tenant", "acme", "--job", "morning", "--date", "2026-11-23", "--report", report, "--logs", logs),
            await CliTests.RunAsync(_dir.Path, "run", "--config", root, "--tenant", "acme", "--job", "morning", "--date", "2026-12-31", "--logs", logs),
        };

        Assert.Equal([0, 0, 0, 0, 1], outputs.Select(o => o.Item1));
        Assert.Contains("plan: tenant acme", outputs[2].Item2);
        Assert.Contains("in-***", outputs[2].Item2); // the folder named after the secret is shown redacted
        Assert.Contains("no file matches", outputs[4].Item3);
        foreach (var (_, stdout, stderr) in outputs)
        {
            Assert.DoesNotContain(Sentinel, stdout);
            Assert.DoesNotContain(Sentinel, stderr);
        }

        Assert.DoesNotContain(Sentinel, await File.ReadAllTextAsync(report));
        var logFiles = Directory.GetFiles(logs, "*.log", SearchOption.AllDirectories);
        Assert.Equal([Path.Combine(logs, "acme", "2026-11-23-morning.log"), Path.Combine(logs, "acme", "2026-12-31-morning.log")], logFiles.Order(StringComparer.Ordinal));
        Assert.Contains("fact_invoice_secondary (append)", await File.ReadAllTextAsync(logs + "/acme/2026-11-23-morning.log"));
        Assert.Contains("no file matches", await File.ReadAllTextAsync(logs + "/acme/2026-12-31-morning.log")); // a failed run has its log too
        foreach (var f in logFiles)
        {
            Assert.DoesNotContain(Sentinel, await File.ReadAllTextAsync(f));
        }
    }

    [Fact]
    public void A_copy_of_the_template_validates_once_named()
    {
        var yaml = File.ReadAllText(Path.Combine(RepoPaths.Root, "configs", "tenants", "_template", "tenant.yaml"))
            .Replace("tenant: _template", "tenant: newco", StringComparison.Ordinal)
            .Replace("<id>", "newco", StringComparison.Ordinal)
            .Replace("<Display name>", "New Co", StringComparison.Ordinal);
        var root = Configs(yaml, tenant: "newco");
        var tenant = TenantConfigReader.Read(root, "newco");
        Assert.Equal("datawiz_newco", tenant.Database);
        Assert.Equal(["morning", "evening"], tenant.Jobs.Keys);
    }

    [Fact]
    public async Task Validate_exits_2_with_every_error_and_the_cli_runs_a_generated_day()
    {
        var broken = Configs("tenant: acme\ndatabase: d\nsource: { kind: ftp, path: x }\nsink: { kind: duckdb }\ntables: {}\njobs: {}\n");
        var (code, _, stderr) = await CliTests.RunAsync(_dir.Path, "validate", "--config", broken);
        Assert.Equal(2, code);
        var file = Path.Combine(broken, "tenants", "acme", "tenant.yaml");
        Assert.Equal([$"error: {file}: source.kind: 'ftp' is not supported (local, azure, s3)", $"error: {file}: sink.path: required"], stderr.TrimEnd('\n').Split('\n'));

        var root = Configs(ShippedTenantAt("pidilite", _dir.Path).Replace("tenant: pidilite", "tenant: acme", StringComparison.Ordinal));
        var gen = await CliTests.RunAsync(_dir.Path, "generate", "tenant", "--config", root, "--tenant", "acme", "--date", "2026-11-24", "--rows", "1000");
        Assert.Equal(0, gen.ExitCode);
        Assert.Equal(0, (await CliTests.RunAsync(_dir.Path, "init-db", "--config", root, "--tenant", "acme")).ExitCode);
        var (runCode, stdout, runErr) = await CliTests.RunAsync(_dir.Path, "run", "--config", root, "--tenant", "acme", "--job", "morning", "--date", "2026-11-24");
        Assert.Equal("", runErr); // silence is success
        Assert.Equal(0, runCode);
        var lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Equal("table                     mode      files    rows read       loaded  filtered  rejected  seconds  bottleneck", lines[0]);
        Assert.StartsWith("dealers                   merge         1          200          200         0         0 ", lines[1]);
        Assert.StartsWith("fact_invoice_secondary    append        1        1,000 ", lines[5]);
        Assert.StartsWith("acme/morning 2026-11-24: loaded ", lines[^1]);

        // For machines: JSON lines on stderr with the milestones, the report on stdout.
        var (jsonCode, jsonOut, jsonErr) = await CliTests.RunAsync(_dir.Path, "run", "--config", root, "--tenant", "acme", "--job", "evening", "--date", "2026-11-24", "--log-format", "json", "--output", "json");
        Assert.Equal(0, jsonCode);
        var events = jsonErr.TrimEnd('\n').Split('\n').Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(events, e => e.GetProperty("Message").GetString() == "acme/evening: dealers (replace): 200 rows from 1 file");
        Assert.All(events, e => Assert.Equal("Information", e.GetProperty("LogLevel").GetString()));
        Assert.Equal("succeeded", System.Text.Json.JsonDocument.Parse(jsonOut).RootElement.GetProperty("status").GetString());
    }
}
