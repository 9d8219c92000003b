using BenchmarkDotNet.Running;
using EtlStream.Benchmarks;

return args switch
{
    ["e2e", ..] => await StandardJobHarness.RunAsync(args),
    ["gzip-floor", var file] => await StandardJobHarness.GzipFloorAsync(file),
    ["duckdb", var file, var output] => StandardJobHarness.DuckDb(file, output),
    ["duckdb-json", var file, var output] => StandardJobHarness.DuckDbJson(file, output),
    ["parquet-input", ..] => await ParquetInputHarness.RunAsync(args),
    ["duckdb-parquet", var file, var output] => ParquetInputHarness.DuckDbParquet(file, output),
    ["duckdb-table", var file, var database, var table] => DuckDbTableHarness.Load(file, database, table),
    ["duckdb-compare", var left, var right, var table] => DuckDbTableHarness.Compare(left, right, table),
    ["stages", var file, var spec, ..] => await StageProfile.RunAsync(file, spec, args.Length > 3 ? args[3] : null),
    _ => Benchmarks(args),
};

static int Benchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(StageProfile).Assembly).Run(args);
    return 0;
}
