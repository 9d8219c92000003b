using EtlStream.Sinks.StarRocks;
using EtlStream.Tables;

namespace EtlStream.Tests.StarRocks;

/// <summary>The statement compiler and the FILES() storage properties, on their exact text.</summary>
public sealed class InClusterSqlTests
{
    private static readonly InClusterStamps Stamps = new("day's.csv", new DateOnly(2026, 11, 24), "acme");

    private static TableSpec Spec(string yaml) => TableSpecReader.Read(yaml, "spec.yaml");

    private static string Select(TableSpec spec, IReadOnlyList<string> header)
    {
        var sql = InClusterSql.Insert(spec, "db", "t", "etl_l_f", header, "wasbs://c@a.blob.core.windows.net/x.csv", [], Stamps).Sql;
        return sql[(sql.IndexOf("\nSELECT ", StringComparison.Ordinal) + 8)..sql.IndexOf("\nFROM FILES(", StringComparison.Ordinal)];
    }

    [Theory]
    [InlineData("dd-MM-yyyy", "%d-%m-%Y", false)]
    [InlineData("yyyy-MM-dd HH:mm:ss", "%Y-%m-%d %H:%i:%s", false)]
    [InlineData("yyyy/MM/dd'T'HH:mm", null, false)]
    [InlineData("yyyyMMdd HHmmss.ffffff", "%Y%m%d %H%i%s.%f", true)]
    [InlineData("dd MMM yyyy", null, false)]
    public void Date_patterns_translate_to_str_to_date_formats_or_are_refused(string pattern, string? format, bool fraction)
    {
        Assert.Equal(format, InClusterSql.DateFormat(pattern, out var hasFraction));
        Assert.Equal(fraction, format is not null && hasFraction);
    }

    [Fact]
    public void Columns_bind_by_header_name_in_any_case_and_order_with_nulls_trim_and_literals_escaped()
    {
        var spec = Spec("""
            table: t
            csv: { null: ["", "NA"] }
            columns:
              - { name: k, type: string, computed: { concat: [b, { literal: "-" }, a], separator: "" } }
              - { name: a, type: int64 }
              - { name: b, type: string, trim: true, null: ["?"] }
              - { name: f, type: string, computed: source_file }
              - { name: z, type: string, computed: { constant: "it's \\ here" } }
            """);

        Assert.Equal(
            "concat(trim(CASE WHEN $1 IN ('', 'NA') THEN NULL ELSE $1 END), '-', CASE WHEN $2 IN ('', 'NA') THEN NULL ELSE $2 END), " +
            "trim(CASE WHEN $2 IN ('', 'NA') THEN NULL ELSE $2 END), " +
            "CASE WHEN trim(CASE WHEN $1 IN ('', 'NA') THEN NULL ELSE $1 END) IN ('?') THEN NULL ELSE trim(CASE WHEN $1 IN ('', 'NA') THEN NULL ELSE $1 END) END, " +
            "'day\\'s.csv', 'it\\'s \\\\ here'",
            Select(spec, ["B", " A ", "unused"]));

        var missing = Assert.Throws<InvalidDataException>(() => Select(spec, ["A", "x"]));
        Assert.Equal("the header has no column 'b' (header: A,x)", missing.Message);
    }

    [Fact]
    public void Filters_compare_typed_values_with_re_printed_literals()
    {
        var spec = Spec("""
            table: t
            columns:
              - { name: q, type: int32 }
              - { name: d, type: date, format: dd/MM/yyyy }
              - { name: m, type: "decimal(10,3)" }
              - { name: s, type: string }
            filter:
              - { column: q, op: ">", value: "+5" }
              - { column: d, op: ">=", value: "02/01/2026" }
              - { column: m, op: "<=", value: "1.5" }
              - { column: s, in: ["x'y", z] }
              - { column: s, not_null: true }
            """);

        var sql = InClusterSql.Insert(spec, "db", "t", "etl_l_f", ["q", "d", "m", "s"], "wasbs://c@a.blob.core.windows.net/x.csv", [], Stamps).Sql;

        Assert.EndsWith(
            "\nWHERE CAST(trim(nullif($1, '')) AS SIGNED) > 5 AND str_to_date(trim(nullif($2, '')), '%d/%m/%Y') >= '2026-01-02' AND " +
            "CAST(trim(nullif($3, '')) AS DECIMAL(10,3)) <= 1.5 AND nullif($4, '') IN ('x\\'y', 'z') AND nullif($4, '') IS NOT NULL",
            sql);
    }

    [Fact]
    public void Strict_schema_drift_refuses_a_header_that_differs_at_all()
    {
        var spec = Spec("""
            table: t
            schema_drift: strict
            columns:
              - { name: a, type: string }
              - { name: b, type: string }
            """);

        Assert.Equal("nullif($1, ''), nullif($2, '')", Select(spec, ["a", "b"]));
        var drift = Assert.Throws<InvalidDataException>(() => Select(spec, ["a", "b", "c"]));
        Assert.Equal("schema_drift: strict: the header differs from the spec (header: a,b,c; spec: a,b)", drift.Message);
    }

    [Fact]
    public void Credentials_are_shown_as_stars_and_storage_is_made_from_the_tenant_source()
    {
        var problems = new List<string>();
        var sas = InClusterStorage.From("azure", new Dictionary<string, string>
        {
            ["container"] = "drops",
            ["connection_string"] = "BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=1&sig=SECRETSIG",
        }, problems)!;
        var statement = InClusterSql.Insert(Spec("table: t\ncolumns:\n  - { name: a, type: string }\n"), "db", "t", "etl_l_f", ["a"], "wasbs://drops@acct.blob.core.windows.net/a.csv", sas.Credentials, Stamps);

        Assert.Empty(problems);
        Assert.Contains("\"azure.blob.storage_account\" = \"acct\", \"azure.blob.container\" = \"drops\", \"azure.blob.sas_token\" = \"sv=1&sig=SECRETSIG\")", statement.Sql, StringComparison.Ordinal);
        Assert.Contains("\"azure.blob.storage_account\" = \"acct\", \"azure.blob.container\" = \"drops\", \"azure.blob.sas_token\" = \"***\")", statement.Shown, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRETSIG", statement.Shown, StringComparison.Ordinal);

        var s3 = InClusterStorage.From("s3", new Dictionary<string, string> { ["bucket"] = "b", ["endpoint"] = "http://minio:9000", ["access_key"] = "AK", ["secret_key"] = "SK" }, problems)!;
        Assert.Equal(
            [new("aws.s3.region", "us-east-1"), new("aws.s3.access_key", "AK"), new("aws.s3.secret_key", "SK", true), new("aws.s3.endpoint", "http://minio:9000"), new("aws.s3.enable_path_style_access", "true")],
            s3.Credentials);
        Assert.Equal("s3://b/day/x.csv.gz", s3.PathOf(new EtlStream.Sources.SourceFile("s3://b/day/x.csv.gz", 1, "e", _ => throw new NotSupportedException())));

        Assert.Null(InClusterStorage.From("azure", new Dictionary<string, string> { ["container"] = "c", ["account_url"] = "https://acct.blob.core.windows.net" }, problems));
        Assert.Null(InClusterStorage.From("local", new Dictionary<string, string>(), problems));
        Assert.Equal(
            [
                "source: no account_key or sas_token: the cluster cannot use this machine's Azure identity (DefaultAzureCredential); give it a key or a SAS token",
                "source.kind: local: the cluster cannot read this machine's files (use an azure or s3 source)",
            ],
            problems);
    }
}
