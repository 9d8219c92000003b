using System.Text.Json;
using Amazon.S3.Model;
using Azure.Storage.Blobs;
using Azure.Storage.Sas;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sources;

/// <summary>
/// <c>etlstream load az://…</c> and <c>s3://…</c> as a real process with its credentials in the environment: the
/// standard job gives the same rows as from the local file, and no key or SAS signature reaches stdout, stderr or
/// the report.
/// </summary>
public static class ObjectStoreCli
{
    public static readonly string StandardJobSpec = Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml");
    /// <summary>No object-store settings at all.</summary>
    public static readonly IReadOnlyDictionary<string, string> NoSettings = new Dictionary<string, string>();
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _invoices;

    /// <summary>The standard job's input, 20,000 rows, generated once per test process by the CLI.</summary>
    public static async Task<string> InvoicesAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_invoices is null)
            {
                // Deterministic for a seed, so one file serves every run: generated when missing, moved into place whole.
                var folder = Path.Combine(Path.GetTempPath(), "etlstream-tests", "object-store-cli");
                Directory.CreateDirectory(folder);
                var file = Path.Combine(folder, "invoices-20000-seed7.csv.gz");
                if (!File.Exists(file))
                {
                    var partial = $"{file}.{Environment.ProcessId}.tmp";
                    var (code, stdout, stderr) = await RunAsync(folder, NoSettings, "generate", "invoices", "--rows", "20000", "--seed", "7", "--out", partial);
                    Assert.True(code == 0, stdout + stderr);
                    File.Move(partial, file, overwrite: true);
                }

                _invoices = file;
            }

            return _invoices;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>The CLI with exactly <paramref name="environment"/> as its object-store settings (none inherited).</summary>
    public static Task<(int ExitCode, string Out, string Err)> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var inherited = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("AZURE_", StringComparison.Ordinal) || k.StartsWith("AWS_", StringComparison.Ordinal) || k.StartsWith("S3_", StringComparison.Ordinal));
        var settings = inherited.ToDictionary(k => k, _ => (string?)null);
        foreach (var (key, value) in environment)
        {
            settings[key] = value;
        }

        return CliProcess.RunAsync(workingDirectory, settings, args);
    }

    /// <summary>Row count, sum(qty), sum(gross_amount), and the rows of each file missing from the other (both 0 when equal).</summary>
    public static (long Rows, long Qty, decimal Gross, long OnlyLeft, long OnlyRight) Compare(string left, string right)
    {
        var (l, r) = (DuckDbQuery.Literal(left), DuckDbQuery.Literal(right));
        var sums = DuckDbQuery.Rows($"SELECT count(*), CAST(sum(qty) AS BIGINT), sum(gross_amount) FROM read_parquet({r})").Single();
        return (Convert.ToInt64(sums[0]), Convert.ToInt64(sums[1]), Convert.ToDecimal(sums[2]),
            Convert.ToInt64(DuckDbQuery.Scalar(null, $"SELECT count(*) FROM (SELECT * FROM read_parquet({l}) EXCEPT ALL SELECT * FROM read_parquet({r}))")),
            Convert.ToInt64(DuckDbQuery.Scalar(null, $"SELECT count(*) FROM (SELECT * FROM read_parquet({r}) EXCEPT ALL SELECT * FROM read_parquet({l}))")));
    }

    /// <summary>The local load of the same file, for comparison.</summary>
    public static async Task<string> LoadLocallyAsync(TempDirectory dir, string input)
    {
        var output = dir.File("local.parquet");
        var (code, _, stderr) = await RunAsync(dir.Path, NoSettings, "load", input, "--table", StandardJobSpec, "--to", $"parquet:{output}");
        Assert.True(code == 0, stderr);
        return output;
    }
}

[Collection(AzuriteCollection.Name)]
public sealed class AzureLoadCliTests(AzuriteServer server) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_standard_job_loads_from_Azurite_with_the_same_output_as_from_the_local_file()
    {
        var input = await ObjectStoreCli.InvoicesAsync();
        var container = await server.CreateContainerAsync("cli");
        var blob = container.GetBlobClient("incoming/invoices_2026-11-24.csv.gz");
        await blob.UploadAsync(input);
        await container.GetBlobClient("incoming/readme.txt").UploadAsync(BinaryData.FromString("not an input"));
        var properties = (await blob.GetPropertiesAsync()).Value;

        var output = _dir.File("az.parquet");
        var report = _dir.File("az.json");
        var (code, stdout, stderr) = await ObjectStoreCli.RunAsync(_dir.Path, new Dictionary<string, string> { ["AZURE_STORAGE_CONNECTION_STRING"] = server.ConnectionString },
            "load", $"az://{container.Name}/incoming/invoices_*.csv.gz", "--table", ObjectStoreCli.StandardJobSpec, "--to", $"parquet:{output}", "--report", report);
        Assert.Equal("", stderr);
        Assert.Equal(0, code);
        Assert.Matches(@"^loaded [\d,]+ rows into table fact_invoice_secondary \(20,000 read, [\d,]+ filtered\) from 1 file in ", stdout);

        var local = await ObjectStoreCli.LoadLocallyAsync(_dir, input);
        var same = ObjectStoreCli.Compare(local, output);
        Assert.Equal((0L, 0L), (same.OnlyLeft, same.OnlyRight));
        Assert.Equal(ObjectStoreCli.Compare(local, local), same);
        Assert.True(same.Rows > 19_000, $"{same.Rows} rows");

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
        var source = json.RootElement.GetProperty("sources").EnumerateArray().Single();
        Assert.Equal($"az://{container.Name}/incoming/invoices_2026-11-24.csv.gz", source.GetProperty("name").GetString());
        Assert.Equal(new FileInfo(input).Length, source.GetProperty("compressedBytes").GetInt64());
        Assert.Equal(properties.ETag.ToString().Trim('"'), source.GetProperty("version").GetString());
        Assert.Equal(properties.LastModified, source.GetProperty("lastModified").GetDateTimeOffset());
    }

    [Fact]
    public async Task A_sas_token_loads_and_its_signature_appears_nowhere_even_when_the_read_is_refused()
    {
        var input = await ObjectStoreCli.InvoicesAsync();
        var container = await server.CreateContainerAsync("sas");
        await container.GetBlobClient("in/invoices.csv.gz").UploadAsync(input);
        var sas = AzuriteServer.ReadListSas(container.Name);
        var sig = System.Web.HttpUtility.ParseQueryString(sas)["sig"]!;
        var env = new Dictionary<string, string> { ["AZURE_STORAGE_ACCOUNT_URL"] = server.AccountUrl, ["AZURE_STORAGE_SAS_TOKEN"] = sas };

        var report = _dir.File("sas.json");
        var ok = await ObjectStoreCli.RunAsync(_dir.Path, env, "load", $"az://{container.Name}/in/", "--table", ObjectStoreCli.StandardJobSpec,
            "--to", $"parquet:{_dir.File("sas.parquet")}", "--report", report, "--output", "json", "--verbose");
        Assert.Equal(0, ok.ExitCode);

        // A SAS that may list but not read: listing works, the read is refused and the run fails with a report.
        var listOnly = new BlobSasBuilder(BlobContainerSasPermissions.List, DateTimeOffset.UtcNow.AddHours(1)) { BlobContainerName = container.Name, Resource = "c" }
            .ToSasQueryParameters(new Azure.Storage.StorageSharedKeyCredential(AzuriteServer.AccountName, AzuriteServer.AccountKey)).ToString();
        var listOnlySig = System.Web.HttpUtility.ParseQueryString(listOnly)["sig"]!;
        var failedReport = _dir.File("refused.json");
        var refused = await ObjectStoreCli.RunAsync(_dir.Path, new Dictionary<string, string> { ["AZURE_STORAGE_ACCOUNT_URL"] = server.AccountUrl, ["AZURE_STORAGE_SAS_TOKEN"] = listOnly },
            "load", $"az://{container.Name}/in/", "--table", ObjectStoreCli.StandardJobSpec, "--to", $"parquet:{_dir.File("refused.parquet")}", "--report", failedReport, "--verbose");
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith($"error: az://{container.Name}/in/invoices.csv.gz: access denied (403 ", refused.Err);
        using (var json = JsonDocument.Parse(await File.ReadAllTextAsync(failedReport)))
        {
            Assert.Equal("failed", json.RootElement.GetProperty("status").GetString());
            Assert.StartsWith($"az://{container.Name}/in/invoices.csv.gz: access denied (403 ", json.RootElement.GetProperty("error").GetString());
        }

        var everything = string.Join("\n", ok.Out, ok.Err, await File.ReadAllTextAsync(report), refused.Out, refused.Err, await File.ReadAllTextAsync(failedReport));
        foreach (var secret in new[] { sig, Uri.EscapeDataString(sig), listOnlySig, Uri.EscapeDataString(listOnlySig), sas, listOnly })
        {
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_wrong_account_key_exits_1_naming_the_location_without_the_key()
    {
        var container = await server.CreateContainerAsync("key");
        var wrongKey = Convert.ToBase64String(System.Security.Cryptography.SHA512.HashData("wrong key"u8));
        var (code, stdout, stderr) = await ObjectStoreCli.RunAsync(_dir.Path,
            new Dictionary<string, string> { ["AZURE_STORAGE_ACCOUNT_URL"] = server.AccountUrl, ["AZURE_STORAGE_KEY"] = wrongKey },
            "load", $"az://{container.Name}/in/*.csv.gz", "--to", $"parquet:{_dir.File("x.parquet")}", "--report", _dir.File("x.json"));
        Assert.Equal((1, ""), (code, stdout));
        Assert.Equal($"error: az://{container.Name}/in/*.csv.gz: access denied (403 AuthorizationFailure): check the credentials\n", stderr);
        Assert.DoesNotContain(wrongKey, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_credentials_or_matches_the_load_exits_2_saying_what_to_set()
    {
        var container = await server.CreateContainerAsync("none");
        var none = await ObjectStoreCli.RunAsync(_dir.Path, ObjectStoreCli.NoSettings, "load", $"az://{container.Name}/in/", "--to", $"parquet:{_dir.File("x.parquet")}");
        Assert.Equal(2, none.ExitCode);
        Assert.Equal($"error: az://{container.Name}/in/: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_URL (or AZURE_STORAGE_ACCOUNT) with AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_KEY, or neither for DefaultAzureCredential\n", none.Err);

        var empty = await ObjectStoreCli.RunAsync(_dir.Path, new Dictionary<string, string> { ["AZURE_STORAGE_CONNECTION_STRING"] = server.ConnectionString },
            "load", $"az://{container.Name}/in/", "--to", $"parquet:{_dir.File("x.parquet")}");
        Assert.Equal((2, $"error: az://{container.Name}/in/: matches no objects\n"), (empty.ExitCode, empty.Err));
    }
}

[Collection(S3Collection.Name)]
public sealed class S3LoadCliTests(S3Server server) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_standard_job_loads_from_s3_with_the_same_output_as_from_the_local_file()
    {
        var input = await ObjectStoreCli.InvoicesAsync();
        var bucket = await server.CreateBucketAsync("cli");
        using (var client = server.Client())
        {
            await client.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "incoming/2026-11-24/invoices.csv.gz", FilePath = input, UseChunkEncoding = false });
        }

        const string Secret = "s3-secret-9d2b41";
        var output = _dir.File("s3.parquet");
        var report = _dir.File("s3.json");
        var (code, stdout, stderr) = await ObjectStoreCli.RunAsync(_dir.Path,
            new Dictionary<string, string> { ["S3_ENDPOINT"] = server.Endpoint, ["AWS_ACCESS_KEY_ID"] = S3Server.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = Secret },
            "load", $"s3://{bucket}/incoming/**/*.csv.gz", "--table", ObjectStoreCli.StandardJobSpec, "--to", $"parquet:{output}", "--report", report, "--output", "json");
        Assert.Equal("", stderr);
        Assert.Equal(0, code);

        var local = await ObjectStoreCli.LoadLocallyAsync(_dir, input);
        var same = ObjectStoreCli.Compare(local, output);
        Assert.Equal(ObjectStoreCli.Compare(local, local), same);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(report));
        var source = json.RootElement.GetProperty("sources").EnumerateArray().Single();
        Assert.Equal($"s3://{bucket}/incoming/2026-11-24/invoices.csv.gz", source.GetProperty("name").GetString());
        Assert.Matches("^[0-9a-f]{32}$", source.GetProperty("version").GetString());
        Assert.DoesNotContain(Secret, stdout + await File.ReadAllTextAsync(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_access_key_exits_1_without_the_secret()
    {
        var bucket = await server.CreateBucketAsync("key");
        const string Secret = "s3-secret-4e8c17";
        var (code, stdout, stderr) = await ObjectStoreCli.RunAsync(_dir.Path,
            new Dictionary<string, string> { ["S3_ENDPOINT"] = server.Endpoint, ["AWS_ACCESS_KEY_ID"] = "NOBODY", ["AWS_SECRET_ACCESS_KEY"] = Secret },
            "load", $"s3://{bucket}/in/", "--to", $"parquet:{_dir.File("x.parquet")}");
        Assert.Equal((1, ""), (code, stdout));
        Assert.Equal($"error: s3://{bucket}/in/: access denied (403 InvalidAccessKeyId): check the credentials\n", stderr);
        Assert.DoesNotContain(Secret, stderr, StringComparison.Ordinal);
    }
}
