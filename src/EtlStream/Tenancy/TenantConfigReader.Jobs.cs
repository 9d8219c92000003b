using EtlStream.State;
using EtlStream.Tables;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tenancy;

public static partial class TenantConfigReader
{
    private static Dictionary<string, JobConfig> ReadJobs(NodeReader r, YamlMappingNode root, Dictionary<string, TenantTable> tables, HashSet<string> declared)
    {
        var jobs = new Dictionary<string, JobConfig>(StringComparer.Ordinal);
        if (r.Child(root, "jobs") is not YamlMappingNode m)
        {
            r.Error("jobs", "required: a mapping of job name to { steps }");
            return jobs;
        }

        foreach (var (keyNode, node) in m.Children)
        {
            if (r.KeyName(keyNode, "jobs") is not { } name)
            {
                continue;
            }

            var path = $"jobs.{name}";
            if (node is not YamlMappingNode job || r.Child(job, "steps") is not YamlSequenceNode steps)
            {
                r.Error(path, "a mapping with a list of steps");
                continue;
            }

            r.CheckKeys(job, path, ["steps"]);
            var list = new List<JobStep>();
            for (var i = 0; i < steps.Children.Count; i++)
            {
                var sp = $"{path}.steps[{i}]";
                if (steps.Children[i] is not YamlMappingNode s)
                {
                    r.Error(sp, "a step is { name, tables, mode, after }");
                    continue;
                }

                r.CheckKeys(s, sp, StepKeys);
                var stepName = r.RequiredString(s, sp, "name") ?? $"step{i + 1}";
                var stepTables = r.Strings(s, sp, "tables") ?? [];
                foreach (var t in stepTables.Where(t => !declared.Contains(t)))
                {
                    r.Error($"{sp}.tables", $"unknown table '{t}'");
                }

                var modeText = r.String(s, sp, "mode") ?? "append";
                StepMode? mode = modeText switch { "append" => StepMode.Append, "merge" => StepMode.Merge, "replace" => StepMode.Replace, _ => null };
                if (mode is null)
                {
                    r.Error($"{sp}.mode", $"unknown mode '{modeText}' (expected append, merge or replace)");
                }

                foreach (var t in stepTables.Where(t => mode == StepMode.Merge && tables.TryGetValue(t, out var tt) && tt.Key.Count == 0))
                {
                    r.Error($"{sp}.mode", $"merge needs a key, and the schema of '{t}' declares none");
                }

                list.Add(new JobStep(stepName, stepTables, mode ?? StepMode.Append, r.Strings(s, sp, "after") ?? []));
            }

            CheckOrder(r, path, list);
            jobs[name] = new JobConfig(name, list);
        }

        return jobs;
    }

    private static void CheckOrder(NodeReader r, string path, List<JobStep> steps)
    {
        var names = steps.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            foreach (var a in steps[i].After.Where(a => !names.Contains(a)))
            {
                r.Error($"{path}.steps[{i}].after", $"unknown step '{a}'");
            }
        }

        if (JobPlan.Order(steps) is null)
        {
            r.Error(path, "the steps' 'after' dependencies form a cycle");
        }
    }
}
