using BenchmarkDotNet.Running;
using EtlStream.Benchmarks;

if (args is ["stages", var file, var spec, ..])
{
    await StageProfile.RunAsync(file, spec, args.Length > 3 ? args[3] : null);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(StageProfile).Assembly).Run(args);
