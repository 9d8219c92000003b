using System.Text.Json;
using EtlStream.Tables;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.StarRocks;

/// <summary><c>etlstream load ... --to starrocks://...</c> as a user runs it: a separate process, the password from the environment.</summary>
[Collection(MariaDbCollection.Name)]
public sealed class StarRocksCliTests(MariaDbServer mariaDb)
{
    [Fact]
    public async Task The_load_command_loads_the_standard_job_into_starrocks_and_never_prints_the_password()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        var spec = TableSpecReader.ReadFile(Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml"));
        await bed.CreateTableAsync(spec);
        var input = bed.Dir.File("invoices-5000.csv.gz");
        Assert.Equal(0, (await CliTests.RunAsync(bed.Dir.Path, "generate", "invoices", "--rows", "5000", "--seed", "3", "--out", input)).ExitCode);
        Environment.SetEnvironmentVariable("STARROCKS_PASSWORD", MariaDbServer.Password); // inherited by the CLI process
        var target = $"starrocks://{MariaDbServer.User}@127.0.0.1:{bed.Server.FePort}/{bed.Database}?table={spec.Name}&mysql_port={mariaDb.Port}&state_dir={bed.Dir.Path}/state";
        var report = bed.Dir.File("run.json");

        var (code, stdout, stderr) = await CliTests.RunAsync(bed.Dir.Path, "load", input, "--table", Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml"), "--to", target, "--report", report);

        Assert.True(code == 0, stderr);
        var loaded = JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement.GetProperty("rowsLoaded").GetInt64();
        Assert.InRange(loaded, 4500, 5000);
        Assert.Equal(loaded, await bed.CountAsync(spec.Name));
        foreach (var text in new[] { stdout, stderr, await File.ReadAllTextAsync(report) })
        {
            Assert.DoesNotContain(MariaDbServer.Password, text, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Rows the server filters (the live VARCHAR(5) is shorter than the spec's, and without the MySQL port the sink
    /// cannot know) are read from the load's ErrorURL into the run's rejects file, and counted as rejected.
    /// </summary>
    [Fact]
    public async Task The_load_command_puts_rows_the_server_filtered_in_its_rejects_file_and_counts_them()
    {
        await using var bed = await StarRocksTestBed.StartAsync(mariaDb);
        await mariaDb.ExecuteAsync("CREATE TABLE vc (id BIGINT NOT NULL, name VARCHAR(5) NULL)", bed.Database);
        var input = bed.Dir.File("vc.csv");
        await File.WriteAllTextAsync(input, "id,name\n1,abc\n2,ab€\n3,abcdé\n4,日本語\n");
        await File.WriteAllTextAsync(bed.Dir.File("vc.yaml"), "table: vc\ncolumns:\n  - { name: id, type: int64, nullable: false }\n  - { name: name, type: varchar(20) }\n");
        Environment.SetEnvironmentVariable("STARROCKS_PASSWORD", MariaDbServer.Password);
        var target = $"starrocks://{MariaDbServer.User}@127.0.0.1:{bed.Server.FePort}/{bed.Database}?table=vc&mysql_port=none&max_filter_ratio=0.5&state_dir={bed.Dir.Path}/state";
        var rejects = bed.Dir.File("rejects/vc.parquet");
        var report = bed.Dir.File("run.json");

        var (code, stdout, stderr) = await CliTests.RunAsync(bed.Dir.Path, "load", input, "--table", bed.Dir.File("vc.yaml"), "--to", target, "--rejects", rejects, "--report", report);

        Assert.True(code == 0, stderr);
        Assert.Contains($"loaded 2 rows into table vc (4 read, 2 rejected to {rejects})", stdout, StringComparison.Ordinal);
        var root = JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement;
        Assert.Equal((4L, 2L, 2L, 0L), (root.GetProperty("rowsRead").GetInt64(), root.GetProperty("rowsLoaded").GetInt64(), root.GetProperty("rowsRejected").GetInt64(), root.GetProperty("rowsFiltered").GetInt64()));
        Assert.Equal([[1L, "abc"], [2L, "ab€"]], await bed.RowsAsync("SELECT id, name FROM vc ORDER BY id"));
        Assert.Equal(
            [["vc", input, "server_filtered", "String 'abcdé'(length=6) is too long. The max length of 'name' is 5", "3\tabcdé"],
             ["vc", input, "server_filtered", "String '日本語'(length=9) is too long. The max length of 'name' is 5", "4\t日本語"]],
            DuckDbQuery.Rows($"SELECT target_table, source_file, rule, reason, raw_row FROM read_parquet({DuckDbQuery.Literal(rejects)}) ORDER BY raw_row"));
        Assert.DoesNotContain(MariaDbServer.Password, stdout + stderr, StringComparison.Ordinal);
    }
}
