import { useDashboard } from '../context.tsx';
import { useLive } from '../live.ts';
import { href } from '../router.ts';
import { Badge, Empty, Resource, Time } from '../ui.tsx';

export function ModelsPage() {
  const { api } = useDashboard();
  const models = useLive('models', () => api.listModels(), { on: ['model', 'model_version'] });
  return (
    <>
      <h1>Models</h1>
      <Resource live={models} what="Models">
        {({ models }) =>
          models.length === 0 ? (
            <Empty title="No models yet">
              Create one with <code>shepherd models create &lt;name&gt;</code>, then train or import a
              version.
            </Empty>
          ) : (
            <table data-testid="models-table">
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Task</th>
                  <th scope="col">Aliases</th>
                  <th scope="col">Description</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {models.map((model) => (
                  <tr key={model.id}>
                    <th scope="row">
                      <a href={href({ page: 'model', model: model.name })}>{model.name}</a>
                    </th>
                    <td>{model.task.replace(/_/g, ' ')}</td>
                    <td>
                      {Object.keys(model.aliases).length === 0 ? (
                        <span className="muted">none</span>
                      ) : (
                        Object.entries(model.aliases)
                          .sort()
                          .map(([alias, version]) => (
                            <a
                              key={alias}
                              className="alias-link"
                              href={href({ page: 'version', model: model.name, version })}
                            >
                              <Badge tone={alias === 'champion' ? 'good' : 'info'}>
                                {alias} v{version}
                              </Badge>
                            </a>
                          ))
                      )}
                    </td>
                    <td>{model.description ?? <span className="muted">—</span>}</td>
                    <td>
                      <Time iso={model.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Resource>
    </>
  );
}
