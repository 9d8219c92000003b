using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Sinks.StarRocks;
using EtlStream.Tables;
using EtlStream.Tenancy;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Tests.StarRocks;

/// <summary>A tenant whose warehouse is StarRocks: tenant.yaml with a <c>${NAME}</c> password, a job through the protocol server.</summary>
[Collection(MariaDbCollection.Name)]
public sealed class StarRocksTenantTests(MariaDbServer mariaDb)
{
    private const string SecretName = "ETLSTREAM_TEST_STARROCKS_PW";

    private static string Configs(string dir, string tenantYaml)
    {
        var root = Path.Combine(dir, "configs");
        Directory.CreateDirectory(Path.Combine(root, "schemas"));
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Root, "configs", "schemas")))
        {
            File.Copy(f, Path.Combine(root, "schemas", Path.GetFileName(f)));
        }

        Directory.CreateDirectory(Path.Combine(root, "tenants", "acme"));
        File.WriteAllText(Path.Combine(root, "tenants", "acme", "tenant.yaml"), tenantYaml);
        return root;
    }

    private static string TenantYaml(string dir, string target, string database) => $$"""
        tenant: acme
        database: {{database}}
        source: { kind: local, path: {{dir}}/incoming }
        sink:
          kind: starrocks
          path: "{{target}}"
          password: "${{{SecretName}}}"
        tables:
          fact_invoice_secondary: { schema: fact_invoice_secondary, files: "invoices_{date}.csv" }
        jobs:
          morning:
            steps:
              - { name: facts, tables: [fact_invoice_secondary], mode: append }
          evening:
            steps:
              - { name: refresh, tables: [fact_invoice_secondary], mode: replace }
        """;

    [Fact]
    public async Task A_starrocks_tenant_runs_its_jobs_through_stream_load_with_its_secret_password()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        await using var fe = new FeMySqlProxy(mariaDb.Port, mariaDb.ConnectionString(), _ => null).Start();
        Environment.SetEnvironmentVariable(SecretName, MariaDbServer.Password);
        var target = $"starrocks://{MariaDbServer.User}@127.0.0.1:{bed.Server.FePort}/{bed.Database}?mysql_port={fe.Port}&state_dir={bed.Dir.Path}/state";
        var root = Configs(bed.Dir.Path, TenantYaml(bed.Dir.Path, target, bed.Database));
        Directory.CreateDirectory(Path.Combine(bed.Dir.Path, "incoming"));
        await InvoiceGenerator.WriteFileAsync(Path.Combine(bed.Dir.Path, "incoming", "invoices_2026-11-24.csv"), 2000, seed: 5, default);

        var tenant = TenantConfigReader.Read(root, "acme");
        var table = tenant.Tables["fact_invoice_secondary"];
        await bed.CreateTableAsync(table.Spec);
        var results = await TenantJobRunner.RunAsync(await JobPlan.BuildAsync(tenant, "morning", new DateOnly(2026, 11, 24), default),
            new LoadOptions { RejectsPath = Path.Combine(bed.Dir.Path, "rejects") }, NullLogger.Instance, default);

        Assert.Equal(MariaDbServer.Password, tenant.Sink.Password);
        Assert.DoesNotContain(MariaDbServer.Password, tenant.Sink.ToString(), StringComparison.Ordinal);
        var loaded = Assert.Single(results).Result.RowsLoaded;
        Assert.True(loaded > 1900, $"{loaded} rows");
        Assert.Equal(loaded, await bed.CountAsync("fact_invoice_secondary"));
        Assert.Equal(loaded, Convert.ToInt64(await mariaDb.ScalarAsync("SELECT COUNT(*) FROM fact_invoice_secondary WHERE tenant_id = 'acme'", bed.Database), System.Globalization.CultureInfo.InvariantCulture));
        Assert.All(bed.Server.Log.Where(l => l.Contains("transaction/begin", StringComparison.Ordinal)), l => Assert.Contains("etl_acme_", l, StringComparison.Ordinal));

        // The evening refresh: the table holds exactly the day's rows afterwards, swapped in through the FE.
        await InvoiceGenerator.WriteFileAsync(Path.Combine(bed.Dir.Path, "incoming", "invoices_2026-11-25.csv"), 700, seed: 6, default);
        var evening = await TenantJobRunner.RunAsync(await JobPlan.BuildAsync(tenant, "evening", new DateOnly(2026, 11, 25), default),
            new LoadOptions { RejectsPath = Path.Combine(bed.Dir.Path, "rejects") }, NullLogger.Instance, default);
        var refreshed = Assert.Single(evening).Result.RowsLoaded;
        Assert.InRange(refreshed, 600, 700);
        Assert.Equal(refreshed, await bed.CountAsync("fact_invoice_secondary"));
        Assert.Equal(["SWAP"], fe.Log.Where(l => l.StartsWith("SWAP ", StringComparison.Ordinal)).Select(l => l[..4]));
    }

    [Fact]
    public void A_starrocks_target_naming_another_database_is_a_config_error()
    {
        using var dir = new TempDirectory();
        Environment.SetEnvironmentVariable(SecretName, "whatever-pw");
        var root = Configs(dir.Path, TenantYaml(dir.Path, "starrocks://etl@fe:8030/other_db", "datawiz_acme"));

        TenantConfigReader.ReadAll(root, out var errors);

        Assert.Contains(errors, e => e.EndsWith("sink.path: the target's database 'other_db' is not the tenant's database 'datawiz_acme'", StringComparison.Ordinal));
    }

    /// <summary>A tenant run's rows the server filters land in the tenant's rejects file for the day and job, counted as rejected.</summary>
    [Fact]
    public async Task A_starrocks_tenant_run_puts_rows_the_server_filtered_in_its_rejects_file()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        Environment.SetEnvironmentVariable(SecretName, MariaDbServer.Password);
        var target = $"starrocks://{MariaDbServer.User}@127.0.0.1:{bed.Server.FePort}/{bed.Database}?mysql_port=none&max_filter_ratio=0.5&state_dir={bed.Dir.Path}/state";
        var root = Configs(bed.Dir.Path, $$"""
            tenant: acme
            database: {{bed.Database}}
            source: { kind: local, path: {{bed.Dir.Path}}/incoming }
            sink:
              kind: starrocks
              path: "{{target}}"
              password: "${{{SecretName}}}"
            tables:
              vc: { schema: vc, files: "vc_{date}.csv" }
            jobs:
              morning:
                steps:
                  - { name: names, tables: [vc], mode: append }
            """);
        await File.WriteAllTextAsync(Path.Combine(root, "schemas", "vc.yaml"), "table: vc\ncolumns:\n  - { name: id, type: int64, nullable: false }\n  - { name: name, type: varchar(20) }\n");
        Directory.CreateDirectory(Path.Combine(bed.Dir.Path, "incoming"));
        var input = Path.Combine(bed.Dir.Path, "incoming", "vc_2026-11-24.csv");
        await File.WriteAllTextAsync(input, "id,name\n1,abc\n2,ab€\n3,abcdé\n4,日本語\n");
        await mariaDb.ExecuteAsync("CREATE TABLE vc (id BIGINT NOT NULL, name VARCHAR(5) NULL)", bed.Database);
        var tenant = TenantConfigReader.Read(root, "acme");
        var rejectsRoot = Path.Combine(bed.Dir.Path, "rejects");

        var results = await TenantJobRunner.RunAsync(await JobPlan.BuildAsync(tenant, "morning", new DateOnly(2026, 11, 24), default),
            new LoadOptions { RejectsPath = rejectsRoot }, NullLogger.Instance, default);

        var result = Assert.Single(results).Result;
        var rejects = Path.Combine(rejectsRoot, "acme", "2026-11-24-morning-vc.parquet");
        Assert.Equal((4L, 2L, 2L, 0L, rejects), (result.RowsRead, result.RowsLoaded, result.RowsRejected, result.RowsFiltered, result.RejectsPath));
        Assert.Equal(2, result.RejectsByRule[StreamLoadErrorLog.Rule]);
        Assert.Equal([[1L, "abc"], [2L, "ab€"]], await bed.RowsAsync("SELECT id, name FROM vc ORDER BY id"));
        Assert.Equal(
            [["vc", input, "server_filtered", "String 'abcdé'(length=6) is too long. The max length of 'name' is 5", "3\tabcdé"],
             ["vc", input, "server_filtered", "String '日本語'(length=9) is too long. The max length of 'name' is 5", "4\t日本語"]],
            DuckDbQuery.Rows($"SELECT target_table, source_file, rule, reason, raw_row FROM read_parquet({DuckDbQuery.Literal(rejects)}) ORDER BY raw_row"));
    }
}
